//! `modboot::blkid` against the real `blkid` and `sfdisk`, on images made by
//! the real mkfs tools: filesystem type, UUID and label for each format, and
//! the partition UUIDs, names and extents of GPT and MBR tables.

use modboot::blkid::{self, PROBE_LEN, Partition, Uuid};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("blkid");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(cmd: &str) {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn head(img: &Path) -> Vec<u8> {
    let mut b = std::fs::read(img).unwrap();
    b.truncate(PROBE_LEN);
    b
}

/// `blkid -p -o export`: KEY=value lines (values shell-escaped with `\`).
fn real_blkid(img: &Path) -> HashMap<String, String> {
    let out = Command::new("blkid")
        .args(["-p", "-o", "export"])
        .arg(img)
        .output()
        .unwrap();
    let unescape = |v: &str| {
        let mut s = String::new();
        let mut chars = v.chars();
        while let Some(c) = chars.next() {
            s.push(if c == '\\' {
                chars.next().unwrap_or(c)
            } else {
                c
            });
        }
        s
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), unescape(v)))
        .collect()
}

fn text(u: &Uuid) -> String {
    let mut buf = [0u8; 36];
    let n = u.format(&mut buf);
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

#[test]
fn superblocks_read_as_blkid_reads_them() {
    let tree = scratch("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("file"), b"hello").unwrap();
    let t = tree.display();
    let uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    let cases: Vec<(&str, String)> = vec![
        (
            "ext2",
            format!("mke2fs -q -F -t ext2 -L l-ext2 -U {uuid} IMG 8M"),
        ),
        (
            "ext3",
            format!("mke2fs -q -F -t ext3 -L l-ext3 -U {uuid} IMG 8M"),
        ),
        (
            "ext4",
            format!("mke2fs -q -F -t ext4 -L root-ext4 -U {uuid} IMG 16M"),
        ),
        (
            "xfs",
            format!("truncate -s 320M IMG && mkfs.xfs -q -f -L l-xfs -m uuid={uuid} IMG"),
        ),
        (
            "btrfs",
            format!("truncate -s 128M IMG && mkfs.btrfs -q -f -L 'btrfs label' -U {uuid} IMG"),
        ),
        (
            "vfat16",
            "truncate -s 16M IMG && mkfs.vfat -F 16 -n BOOTFAT -i 1234abcd IMG >/dev/null".into(),
        ),
        (
            "vfat32",
            "truncate -s 64M IMG && mkfs.vfat -F 32 -i 89ab0cde IMG >/dev/null".into(),
        ),
        (
            "squashfs",
            format!("mksquashfs {t} IMG -quiet -noappend >/dev/null"),
        ),
        ("erofs", format!("mkfs.erofs --quiet -U{uuid} IMG {t}")),
        // No ISO writer among the tools: the primary volume descriptor and
        // the set terminator at sectors 16 and 17, as mkisofs lays them out.
        (
            "iso9660",
            "truncate -s 1M IMG && \
             printf '\\001CD001\\001' | dd of=IMG bs=1 seek=32768 conv=notrunc status=none && \
             printf '%-32s' MODBOOT_ISO | dd of=IMG bs=1 seek=32808 conv=notrunc status=none && \
             printf '\\377CD001\\001' | dd of=IMG bs=1 seek=34816 conv=notrunc status=none"
                .into(),
        ),
        // Containers: cryptsetup formats a file as it is (no device-mapper
        // needed); pvcreate wants a block device, a loop device over the file.
        (
            "luks1",
            format!(
                "truncate -s 8M IMG && printf k | cryptsetup luksFormat -q --type luks1 \
                 --pbkdf-force-iterations 1000 --uuid {uuid} --key-file=- IMG"
            ),
        ),
        (
            "luks2",
            format!(
                "truncate -s 32M IMG && printf k | cryptsetup luksFormat -q --type luks2 \
                 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --label 'crypt root' \
                 --uuid {uuid} --key-file=- IMG"
            ),
        ),
        (
            "lvm2",
            "truncate -s 8M IMG && l=$(losetup -f --show IMG) && \
             { pvcreate -q $l >/dev/null 2>&1; s=$?; losetup -d $l; exit $s; }"
                .into(),
        ),
    ];
    for (name, cmd) in &cases {
        let img = scratch(&format!("{name}.img"));
        let _ = std::fs::remove_file(&img);
        run(&cmd.replace("IMG", &img.display().to_string()));
        let want = real_blkid(&img);
        let bytes = head(&img);
        let got = blkid::probe(&bytes)
            .unwrap_or_else(|| panic!("{name}: not recognised; blkid says {want:?}"));
        assert_eq!(
            Some(got.fstype.name()),
            want.get("TYPE").map(String::as_str),
            "{name}: type"
        );
        // An LVM2 PV's UUID is not kept (nothing finds a root by it).
        if *name != "lvm2" {
            assert_eq!(
                got.uuid.as_ref().map(text),
                want.get("UUID").cloned(),
                "{name}: uuid"
            );
        }
        let label = String::from_utf8(got.label.to_vec()).unwrap();
        assert_eq!(
            Some(label).filter(|l| !l.is_empty()),
            want.get("LABEL").cloned(),
            "{name}: label"
        );
        if let Some(u) = want.get("UUID").filter(|_| got.uuid.is_some()) {
            assert!(
                got.uuid.unwrap().matches(u.to_ascii_uppercase().as_bytes()),
                "{name}: case-insensitive match"
            );
        }
    }
}

/// `sfdisk --dump`: the label id and, per partition, start, size, uuid, name.
fn real_sfdisk(img: &Path) -> (String, Vec<HashMap<String, String>>) {
    let out = Command::new("sfdisk")
        .arg("--dump")
        .arg(img)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let label_id = text
        .lines()
        .find_map(|l| l.strip_prefix("label-id: "))
        .unwrap_or("")
        .to_string();
    let parts = text
        .lines()
        .filter(|l| l.contains(" : start="))
        .map(|l| {
            l.split_once(" : ")
                .unwrap()
                .1
                .split(", ")
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
                .collect()
        })
        .collect();
    (label_id, parts)
}

#[test]
fn partition_tables_read_as_sfdisk_wrote_them() {
    let gpt = "label: gpt\nlabel-id: 6E4A1C2B-0D3F-4B5A-9C8D-7E6F5A4B3C2D\n\
               size=4MiB, name=\"root part\", uuid=A1B2C3D4-E5F6-4718-8293-A4B5C6D7E8F9\n\
               size=2MiB, name=\"second\"\n";
    let mbr = "label: dos\nlabel-id: 0x1234abcd\nsize=4MiB, type=83\nsize=2MiB, type=c\n";
    // A primary partition, then an extended one holding three logical
    // ones (sfdisk writes an extended boot record before each).
    let logical = "label: dos\nlabel-id: 0x5eed1e55\nsize=2MiB, type=83\ntype=5\n\
                   size=3MiB, type=83\nsize=2MiB, type=c\nsize=1MiB, type=83\n";
    for (name, script, sector) in [
        ("gpt", gpt, 512),
        ("mbr", mbr, 512),
        ("mbr-logical", logical, 512),
    ] {
        let img = scratch(&format!("{name}-disk.img"));
        let _ = std::fs::remove_file(&img);
        run(&format!(
            "truncate -s 16M {0} && printf '{1}' | sfdisk -q {0}",
            img.display(),
            script.replace('\n', "\\n")
        ));
        let (label_id, mut want) = real_sfdisk(&img);
        // The extended partition is a container, not a partition to mount.
        want.retain(|w| !["5", "f", "85"].contains(&w["type"].as_str()));
        let whole = std::fs::read(&img).unwrap();
        let bytes = head(&img);
        // Extended boot records, read from the image as the init reads the
        // disk: one sector each.
        let reads = std::cell::Cell::new(0);
        let mut read = |at: u64, buf: &mut [u8; 512]| {
            reads.set(reads.get() + 1);
            let at = at as usize;
            buf.copy_from_slice(&whole[at..at + 512]);
            true
        };
        let mut got: Vec<Partition<'_>> = Vec::new();
        assert!(
            blkid::partitions(&bytes, sector, &mut read, u32::MAX, &mut |p| got.push(p)),
            "{name}: no table found"
        );
        let numbers: Vec<u32> = got.iter().map(|p| p.number).collect();
        match name {
            "mbr-logical" => {
                assert_eq!(numbers, [1, 5, 6, 7], "{name}: the kernel's numbers");
                assert_eq!(reads.get(), 3, "{name}: one read per extended boot record");
                // Looking for partition 5 reads its record only.
                reads.set(0);
                let mut five = Vec::new();
                blkid::partitions(&bytes, sector, &mut read, 5, &mut |p| five.push(p.number));
                assert_eq!((five, reads.get()), (vec![1, 5], 1), "{name}: up to 5");
            }
            _ => assert_eq!(reads.get(), 0, "{name}: no extended boot record to read"),
        }
        assert_eq!(got.len(), want.len(), "{name}: partition count");
        for (p, w) in got.iter().zip(&want) {
            assert_eq!(p.start.to_string(), w["start"], "{name}: start");
            assert_eq!(p.sectors.to_string(), w["size"], "{name}: size");
            let uuid = text(&p.uuid);
            match w.get("uuid") {
                Some(u) => assert_eq!(uuid, u.to_ascii_lowercase(), "{name}: partuuid"),
                None => {
                    // MBR: the kernel's and blkid's SSSSSSSS-PP.
                    let disk = label_id.trim_start_matches("0x");
                    assert_eq!(
                        uuid,
                        format!("{disk}-{:02x}", p.number),
                        "{name}: mbr partuuid"
                    );
                }
            }
            if let Some(n) = w.get("name") {
                assert!(p.name_is(n.as_bytes()), "{name}: partlabel {n}");
                assert!(!p.name_is(b"other"));
            }
        }
    }
    // A filesystem image is not a partition table.
    let fat = scratch("vfat16.img");
    if fat.exists() {
        let mut no_read = |_: u64, _: &mut [u8; 512]| false;
        assert!(!blkid::partitions(
            &head(&fat),
            512,
            &mut no_read,
            u32::MAX,
            &mut |_| {}
        ));
    }
}
