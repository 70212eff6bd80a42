//! Which devices can lead to a root disk, by their modalias: the ones a
//! report of devices without a driver names first, when the root did not
//! appear (the others, such as ACPI processor objects, the PC speaker or
//! the keyboard controller, rarely have a driver in an initramfs and are
//! only counted).
//!
//! Storage controllers (PCI class 01: IDE, SCSI, SATA, NVMe, RAID, virtio
//! disks), what storage sits behind (USB and SD host controllers, Fibre
//! Channel, PCI bridges, USB hubs), storage devices themselves (USB mass
//! storage, SCSI devices, MMC cards, virtio block and SCSI devices), and
//! the device-tree and platform devices of the same kinds on boards. Pure:
//! the modalias in, an answer out.

/// fnmatch patterns (as [`crate::glob`] matches them), one per kind: a PCI
/// modalias ends in `bcXXscXXiXX`, a USB interface's has `icXX`.
const PATTERNS: &str = "pci:*bc01sc* pci:*bc0Csc03i* pci:*bc08sc05i* pci:*bc0Csc04i* \
pci:*bc06sc04i* virtio:d00000002v* virtio:d00000008v* usb:*ic08isc* usb:*ic09isc* scsi:* mmc:* \
of:*ahci* of:*sata* of:*sdhci* of:*mmc* of:*nvme* of:*ufs* of:*usb* of:*virtio,mmio* \
platform:virtio-mmio* acpi:LNRO0005:*";

/// Whether the device with this modalias can lead to a root disk.
pub fn leads_to_storage(modalias: &[u8]) -> bool {
    PATTERNS
        .as_bytes()
        .split(|&b| b == b' ')
        .any(|p| crate::glob::matches(p, modalias))
}

#[cfg(test)]
mod tests {
    use super::leads_to_storage;

    #[test]
    fn storage_first() {
        // Seen in QEMU's pc and q35 machines and on virt boards.
        for yes in [
            "pci:v00001AF4d00001004sv00001AF4sd00000008bc01sc00i00", // virtio-scsi
            "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00", // virtio-blk
            "pci:v00008086d00007010sv00000000sd00000000bc01sc01i80", // PIIX3 IDE
            "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01", // ICH9 AHCI
            "pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02", // QEMU NVMe
            "pci:v00001B36d0000000Dsv00001AF4sd00001100bc0Csc03i30", // QEMU xHCI
            "pci:v00001B36d0000000Csv00000000sd00000000bc06sc04i00", // PCIe root port
            "virtio:d00000002v00001AF4",
            "virtio:d00000008v00001AF4",
            "usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00",
            "usb:v1D6Bp0003d0601dc09dsc00dp03ic09isc00ip00in00",
            "scsi:t-0x00",
            "mmc:block",
            "of:NmmcT(null)Cbrcm,bcm2711-emmc2",
            "of:NvirtioT(null)Cvirtio,mmio",
            "platform:virtio-mmio",
        ] {
            assert!(leads_to_storage(yes.as_bytes()), "{yes}");
        }
        for no in [
            "acpi:ACPI0007:",
            "acpi:PNP0A03:",
            "acpi:PNP0C0F:",
            "platform:pcspkr",
            "serio:ty01pr00id00ex00",
            "cpu:type:x86,ven0000fam0006mod003F:feature:,0000,0001",
            "pci:v00008086d00001237sv00001AF4sd00001100bc06sc00i00", // host bridge
            "pci:v00008086d00007000sv00000000sd00000000bc06sc01i00", // ISA bridge
            "pci:v00001234d00001111sv00001AF4sd00001100bc03sc00i00", // VGA
            "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00", // virtio-net
            "virtio:d00000001v00001AF4",
            "usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00", // HID
        ] {
            assert!(!leads_to_storage(no.as_bytes()), "{no}");
        }
    }
}
