//! Percent-encoding for the paths and forms localcloud builds and reads.

/// Encodes every byte but RFC 3986's unreserved characters and those in `keep`.
pub fn encode_keeping(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Encodes a path segment or form value.
pub fn encode(s: &str) -> String {
    encode_keeping(s, &[])
}

/// Decodes `%XX` escapes (and `+` as a space in forms); a malformed escape stays as is.
pub fn decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(
            encode("arn:aws:lambda:us-east-1:1:function:f"),
            "arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af"
        );
        assert_eq!(encode_keeping("calc:live", b":"), "calc:live");
        assert_eq!(decode("calc%3Alive", false), "calc:live");
        assert_eq!(decode("a+b%20c", true), "a b c");
        assert_eq!(decode("a+b", false), "a+b");
        assert_eq!(decode("100%", true), "100%", "a cut-off escape stays");
        assert_eq!(decode("%zz", true), "%zz");
    }
}
