//! Identifiers in AWS's formats: UUIDs (application, group and config ids, hook
//! execution ids, request ids) and CodeDeploy's `d-XXXXXXXXX` deployment ids.

const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A random version-4-shaped UUID, lower-case hex.
pub fn uuid() -> String {
    let hex = |n: usize| -> String { (0..n).map(|_| format!("{:x}", fastrand::u8(..16))).collect() };
    format!("{}-{}-{}-{}-{}", hex(8), hex(4), hex(4), hex(4), hex(12))
}

/// A deployment id: `d-` and nine upper-case letters or digits, as CodeDeploy issues them.
pub fn deployment_id() -> String {
    let tail: String = (0..9).map(|_| ID_ALPHABET[fastrand::usize(..ID_ALPHABET.len())] as char).collect();
    format!("d-{tail}")
}

/// Whether `id` has the shape of a deployment id (CodeDeploy refuses others with
/// InvalidDeploymentIdException before looking them up).
pub fn is_deployment_id(id: &str) -> bool {
    id.len() == 11 && id.starts_with("d-")
}

/// A request id for a reply's metadata.
pub fn request_id() -> String {
    uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_aws_shapes() {
        let id = deployment_id();
        assert!(is_deployment_id(&id), "{id}");
        assert!(!is_deployment_id("d-short") && !is_deployment_id("x-ABCDEFGHI"));
        let u = uuid();
        assert_eq!(u.split('-').map(str::len).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{u}");
    }
}
