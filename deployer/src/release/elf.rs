//! What a Lambda `bootstrap` needs from the machine that runs it, read from its ELF
//! header: the instruction set (Lambda's `Architectures` must match it, or the
//! function fails with an exec format error) and the newest glibc symbol version it
//! links against (the `provided.al2023` runtime has glibc 2.34; a binary built on a
//! newer glibc fails with "GLIBC_2.xx not found", aws-lambda-rust-runtime#932).
//!
//! Only what that needs is parsed: the ELF64 little-endian header, the section table,
//! and the GNU version-needs section (`SHT_GNU_verneed`, the `Verneed`/`Vernaux` chain
//! of the System V gABI's GNU extension).

use crate::settings::Architecture;

const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const SHT_GNU_VERNEED: u32 = 0x6fff_fffe;

/// What a binary needs to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needs {
    pub architecture: Architecture,
    /// The newest `GLIBC_x.y` it references; None when it needs no glibc (static, musl).
    pub glibc: Option<GlibcVersion>,
}

/// A glibc version, `2.34`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion(pub u32, pub u32);

impl GlibcVersion {
    pub fn parse(text: &str) -> Option<Self> {
        let (major, minor) = text.split_once('.')?;
        let minor = minor.split('.').next()?;
        Some(Self(major.parse().ok()?, minor.parse().ok()?))
    }

    /// The glibc of a Lambda OS-only runtime (None: a runtime this check does not know).
    pub fn of_runtime(runtime: &str) -> Option<Self> {
        match runtime {
            "provided.al2023" => Some(Self(2, 34)),
            "provided.al2" => Some(Self(2, 26)),
            "provided" => Some(Self(2, 17)),
            _ => None,
        }
    }
}

impl std::fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// Reads what `elf` needs, or says why it is not a Lambda executable.
pub fn needs(elf: &[u8]) -> Result<Needs, String> {
    if elf.get(..4) != Some(b"\x7fELF") {
        return Err("it is not an ELF executable".into());
    }
    if elf.get(4) != Some(&2) || elf.get(5) != Some(&1) {
        return Err("it is not a 64-bit little-endian ELF (Lambda runs x86_64 and arm64 only)".into());
    }
    let architecture = match u16_at(elf, 18)? {
        EM_X86_64 => Architecture::X86_64,
        EM_AARCH64 => Architecture::Arm64,
        other => return Err(format!("its machine is ELF e_machine {other}, neither x86_64 nor arm64")),
    };
    Ok(Needs { architecture, glibc: newest_glibc(elf)? })
}

fn newest_glibc(elf: &[u8]) -> Result<Option<GlibcVersion>, String> {
    let shoff = usize_at(elf, 0x28)?;
    let shentsize = usize::from(u16_at(elf, 0x3a)?);
    let shnum = usize::from(u16_at(elf, 0x3c)?);
    let section = |i: usize| -> Result<(u32, usize, usize, usize, usize), String> {
        let at = shoff + i * shentsize;
        Ok((
            u32_at(elf, at + 4)?,
            usize_at(elf, at + 24)?,
            usize_at(elf, at + 32)?,
            u32_at(elf, at + 40)? as usize,
            u32_at(elf, at + 44)? as usize,
        ))
    };
    let mut newest = None;
    for i in 0..shnum {
        let (kind, offset, _size, link, count) = section(i)?;
        if kind != SHT_GNU_VERNEED {
            continue;
        }
        let (_, strings, strings_size, _, _) = section(link)?;
        let name = |at: usize| -> Result<&[u8], String> {
            let table = elf.get(strings..strings + strings_size).ok_or("a string table lies outside the file")?;
            let rest = table.get(at..).ok_or("a version name lies outside its string table")?;
            Ok(&rest[..rest.iter().position(|b| *b == 0).unwrap_or(rest.len())])
        };
        // Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
        let mut need = offset;
        for _ in 0..count {
            let aux_count = usize::from(u16_at(elf, need + 2)?);
            let mut aux = need + u32_at(elf, need + 8)? as usize;
            // Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
            for _ in 0..aux_count {
                let version = name(u32_at(elf, aux + 8)? as usize)?;
                let parsed = std::str::from_utf8(version)
                    .ok()
                    .and_then(|v| v.strip_prefix("GLIBC_"))
                    .and_then(GlibcVersion::parse);
                newest = newest.max(parsed);
                let next = u32_at(elf, aux + 12)? as usize;
                if next == 0 {
                    break;
                }
                aux += next;
            }
            let next = u32_at(elf, need + 12)? as usize;
            if next == 0 {
                break;
            }
            need += next;
        }
    }
    Ok(newest)
}

fn bytes<const N: usize>(elf: &[u8], at: usize) -> Result<[u8; N], String> {
    elf.get(at..at + N).and_then(|b| b.try_into().ok()).ok_or_else(|| "the ELF is truncated".to_owned())
}

fn u16_at(elf: &[u8], at: usize) -> Result<u16, String> {
    Ok(u16::from_le_bytes(bytes(elf, at)?))
}

fn u32_at(elf: &[u8], at: usize) -> Result<u32, String> {
    Ok(u32::from_le_bytes(bytes(elf, at)?))
}

fn usize_at(elf: &[u8], at: usize) -> Result<usize, String> {
    usize::try_from(u64::from_le_bytes(bytes(elf, at)?)).map_err(|_| "an ELF offset is out of range".to_owned())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// This test binary itself: an x86_64 ELF linked against the host's glibc.
    pub(crate) fn this_binary() -> Vec<u8> {
        std::fs::read(std::env::current_exe().expect("the test binary")).expect("readable")
    }

    /// `elf` with its ELF machine replaced (an arm64 fixture from a real binary).
    pub(crate) fn with_machine(mut elf: Vec<u8>, machine: u16) -> Vec<u8> {
        elf[18..20].copy_from_slice(&machine.to_le_bytes());
        elf
    }

    /// `elf` with every `GLIBC_2.<n>` version name needing `GLIBC_2.<to>` instead (the
    /// same length, so the string table keeps its shape): a binary "built on a newer
    /// glibc" without such a glibc at hand.
    pub(crate) fn needing_glibc(mut elf: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let (from, to) = (format!("GLIBC_{from}\0"), format!("GLIBC_{to}\0"));
        let mut at = 0;
        while let Some(found) = elf[at..].windows(from.len()).position(|w| w == from.as_bytes()) {
            let start = at + found;
            elf[start..start + to.len()].copy_from_slice(to.as_bytes());
            at = start + to.len();
        }
        elf
    }

    #[test]
    fn the_machine_and_the_newest_glibc_of_a_real_binary() {
        let needs = needs(&this_binary()).expect("an ELF");
        assert_eq!(needs.architecture, Architecture::X86_64);
        let glibc = needs.glibc.expect("linked against glibc");
        assert!(glibc >= GlibcVersion(2, 2) && glibc <= GlibcVersion(2, 99), "{glibc}");
    }

    #[test]
    fn an_arm64_binary_and_a_newer_glibc_are_recognised() {
        assert_eq!(needs(&with_machine(this_binary(), EM_AARCH64)).unwrap().architecture, Architecture::Arm64);
        let newest = needs(&this_binary()).unwrap().glibc.unwrap().to_string();
        let newer = needs_newer(&newest);
        assert_eq!(needs(&needing_glibc(this_binary(), &newest, &newer)).unwrap().glibc, GlibcVersion::parse(&newer));
    }

    /// A version of the same length, newer than `v` (2.34 -> 2.98).
    fn needs_newer(v: &str) -> String {
        let (major, minor) = v.split_once('.').unwrap();
        format!("{major}.{}", "9".repeat(minor.len() - 1) + "8")
    }

    #[test]
    fn what_is_not_a_lambda_executable_is_named() {
        assert!(needs(b"#!/bin/sh\necho hi").unwrap_err().contains("not an ELF"));
        let mut elf32 = this_binary();
        elf32[4] = 1;
        assert!(needs(&elf32).unwrap_err().contains("64-bit"));
        assert!(needs(&with_machine(this_binary(), 40)).unwrap_err().contains("e_machine 40"));
        assert!(needs(&this_binary()[..30]).unwrap_err().contains("truncated"));
    }

    #[test]
    fn runtimes_have_their_glibc() {
        assert_eq!(GlibcVersion::of_runtime("provided.al2023"), Some(GlibcVersion(2, 34)));
        assert_eq!(GlibcVersion::of_runtime("provided.al2"), Some(GlibcVersion(2, 26)));
        assert_eq!(GlibcVersion::of_runtime("python3.12"), None);
        assert!(GlibcVersion(2, 38) > GlibcVersion(2, 34) && GlibcVersion(2, 9) < GlibcVersion(2, 17));
        assert_eq!(GlibcVersion::parse("2.34").map(|v| v.to_string()).as_deref(), Some("2.34"));
    }
}
