//! Early CPU microcode for x86 (Documentation/arch/x86/microcode.rst): an
//! uncompressed `newc` archive at the very start of the image, holding
//! `kernel/x86/microcode/GenuineIntel.bin` and/or `AuthenticAMD.bin`, which
//! the kernel's early loader reads before anything is unpacked; the
//! compressed main archive follows it.
//!
//! The files come from `/lib/firmware` as Debian's `intel-microcode` and
//! `amd64-microcode` packages install them: `intel-ucode/FF-MM-SS` (family,
//! model and stepping in hex; Debian also ships `FF-MM-SS.initramfs`
//! variants meant for early loading only) and `amd-ucode/*.bin` (one
//! container per family). Each vendor's file is the concatenation of its
//! files in name order (the early loader scans it for the CPU's signature).
//! For a host-only image only this CPU's vendor is packed, and for Intel
//! only this CPU's family-model-stepping.
//!
//! [`early`] is the image's step: the early archive, or nothing, told
//! either way.

use super::cpio::Archive;
use super::notes::note;
use std::path::Path;

/// This CPU, from `/proc/cpuinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cpu {
    pub vendor: String,
    pub family: u32,
    pub model: u32,
    pub stepping: u32,
}

/// The first processor of `/proc/cpuinfo`'s text.
pub fn cpu(cpuinfo: &str) -> Option<Cpu> {
    let field = |key: &str| {
        cpuinfo.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    Some(Cpu {
        vendor: field("vendor_id")?,
        family: field("cpu family")?.parse().ok()?,
        model: field("model")?.parse().ok()?,
        stepping: field("stepping")?.parse().ok()?,
    })
}

/// The early archive's files from `firmware_dir`, for `cpu` (host-only) or
/// for every CPU; none when there is no microcode for them.
pub fn early_files(
    firmware_dir: &Path,
    cpu: Option<&Cpu>,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let vendor = |v: &str| cpu.is_none_or(|c| c.vendor == v);
    if vendor("GenuineIntel") {
        let want = cpu.map(|c| format!("{:02x}-{:02x}-{:02x}", c.family, c.model, c.stepping));
        let files = listing(&firmware_dir.join("intel-ucode"), |n| match &want {
            Some(w) => n == w || n == format!("{w}.initramfs"),
            None => true,
        })?;
        if let Some(bin) = concatenated(&files)? {
            out.push(("kernel/x86/microcode/GenuineIntel.bin".to_string(), bin));
        }
    }
    if vendor("AuthenticAMD") {
        let files = listing(&firmware_dir.join("amd-ucode"), |n| n.ends_with(".bin"))?;
        if let Some(bin) = concatenated(&files)? {
            out.push(("kernel/x86/microcode/AuthenticAMD.bin".to_string(), bin));
        }
    }
    Ok(out)
}

/// The regular files of `dir` (following links) whose names `keep`, sorted;
/// none if `dir` does not exist.
fn listing(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<std::path::PathBuf>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut files = Vec::new();
    for e in entries {
        let path = e.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if path.is_file() && keep(&name) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn concatenated(files: &[std::path::PathBuf]) -> Result<Option<Vec<u8>>, String> {
    if files.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for f in files {
        out.extend(std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?);
    }
    Ok(Some(out))
}

/// The early archive, uncompressed, as it goes before the main archive.
pub fn early_archive(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let mut a = Archive::new();
    for (path, data) in files {
        a.add_file(path, 0o644, data.clone())?;
    }
    Ok(a.to_newc())
}

/// The uncompressed early archive of CPU microcode from `firmware_dir`,
/// for this CPU (`/proc/cpuinfo`) if `hostonly`, else for every CPU; or
/// nothing, told either way.
pub fn early(firmware_dir: &Path, hostonly: bool) -> Result<Vec<u8>, String> {
    let cpu = if hostonly {
        let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        Some(self::cpu(&text).ok_or("/proc/cpuinfo: no vendor, family, model and stepping")?)
    } else {
        None
    };
    let files = early_files(firmware_dir, cpu.as_ref())?;
    if files.is_empty() {
        note(&format!(
            "no CPU microcode{} in {}/intel-ucode or amd-ucode (Debian's intel-microcode and \
             amd64-microcode packages install it; --no-microcode to say you know)",
            cpu.as_ref().map_or(String::new(), |c| format!(
                " for this {} CPU (family {:#x}, model {:#x}, stepping {:#x})",
                c.vendor, c.family, c.model, c.stepping
            )),
            firmware_dir.display()
        ));
        return Ok(Vec::new());
    }
    for (path, data) in &files {
        note(&format!("early microcode: {path}, {} bytes", data.len()));
    }
    early_archive(&files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_first_processor() {
        let text = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 142\nmodel name\t: Intel(R) Core(TM) i7\nstepping\t: 10\n\nprocessor\t: 1\nvendor_id\t: GenuineIntel\n";
        assert_eq!(
            cpu(text),
            Some(Cpu {
                vendor: "GenuineIntel".into(),
                family: 6,
                model: 142,
                stepping: 10
            })
        );
        assert_eq!(cpu("vendor_id: x\n"), None);
    }
}
