#!/usr/bin/env python3
"""Writes the seed corpus of every kvmscope fuzz target into fuzz/corpus/<target>/.

Each seed is a small valid (or nearly valid) input in the target's own input format, so that the
fuzzer starts from the paths a real image or a real guest takes. The formats are documented in
the harness headers (fuzz/LoaderFuzzing.h, fuzz/DeviceFuzzing.h) and at the top of each target.
Run it again after changing an input format; libFuzzer adds what it finds on top in long runs.

    fuzz/make-seeds.py            # rewrites fuzz/corpus/
"""
import gzip
import lzma
import os
import shutil
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


# The targets written in this run: each one's folder is emptied before its first seed, and the
# folders of targets whose seeds are kept by hand (fuzz_gdb_packet) are left alone.
_cleared = set()


def write(target, name, data):
    directory = os.path.join(ROOT, target)
    if target not in _cleared:
        _cleared.add(target)
        if os.path.isdir(directory):
            shutil.rmtree(directory)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as seed:
        seed.write(data)


# --- Image loaders -------------------------------------------------------------------------

# LoaderFuzzing.h: flags, initrd size (24 bits), command line length, flat load address.
INITRD, COMMAND_LINE, COMMAND_LINE_NUL, LARGE_MEMORY = 1, 2, 4, 8


def trailer(flags=0, initrd=0, command_line=0, load_address=0x7C00):
    return struct.pack("<BHBHI", flags, initrd & 0xFFFF, initrd >> 16, command_line,
                       load_address)


def elf(bits, entry, segments, extra_header=b""):
    """An ELF executable (System V gABI): header, program headers, then each segment's bytes.
    segments: (paddr, bytes, memsz[, p_type])."""
    header_size, phdr_size = (52, 32) if bits == 32 else (64, 56)
    machine = 3 if bits == 32 else 62  # EM_386, EM_X86_64
    data_offset = header_size + phdr_size * len(segments) + len(extra_header)
    phdrs = b""
    body = b""
    for paddr, contents, memsz, *kind in segments:
        offset = data_offset + len(body)
        kind = kind[0] if kind else 1  # PT_LOAD, or PT_NOTE (4)
        if bits == 32:
            phdrs += struct.pack("<IIIIIIII", kind, offset, paddr, paddr, len(contents), memsz, 5,
                                 0x1000)
        else:
            phdrs += struct.pack("<IIQQQQQQ", kind, 5, offset, paddr, paddr, len(contents), memsz,
                                 0x1000)
        body += contents + b"\0" * (-len(contents) % 16)
    ident = b"\x7fELF" + bytes([1 if bits == 32 else 2, 1, 1]) + b"\0" * 9
    if bits == 32:
        header = ident + struct.pack("<HHIIIIIHHHHHH", 2, machine, 1, entry, header_size, 0, 0,
                                     header_size, phdr_size, len(segments), 0, 0, 0)
    else:
        header = ident + struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, entry, header_size, 0, 0,
                                     header_size, phdr_size, len(segments), 0, 0, 0)
    return header + phdrs + extra_header + body


CODE = b"\xfa\xf4\xeb\xfd"  # cli; hlt; jmp back to hlt


def multiboot_header(flags, fields=()):
    """Multiboot Specification 0.6.96, 3.1.1: magic, flags, checksum, then the address fields
    (flags bit 16) header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr."""
    magic = 0x1BADB002
    checksum = (-(magic + flags)) & 0xFFFFFFFF
    return struct.pack("<III", magic, flags, checksum) + struct.pack("<%dI" % len(fields), *fields)


def multiboot2_header(tags, architecture=0):
    """Multiboot2 Specification 2.0, 3.1: magic, architecture, header_length, checksum, then the
    tags (type, flags, u32 fields), each padded to 8 bytes, and the end tag."""
    body = b""
    for kind, flags, fields in tags:
        tag = struct.pack("<HHI", kind, flags, 8 + 4 * len(fields)) + struct.pack(
            "<%dI" % len(fields), *fields)
        body += tag + b"\0" * (-len(tag) % 8)
    body += struct.pack("<HHI", 0, 0, 8)
    length = 16 + len(body)
    checksum = (-(0xE85250D6 + architecture + length)) & 0xFFFFFFFF
    return struct.pack("<IIII", 0xE85250D6, architecture, length, checksum) + body


def multiboot2_aout(load=0x100000, size=0x200, bss=0x1000):
    # The header at the start of the file, loaded whole at `load`, entered after the header.
    header = multiboot2_header([(2, 0, (load, load, load + size, load + size + bss)),
                                (3, 0, (load + 0x60,))])
    return (header + b"\0" * (0x60 - len(header)) + CODE).ljust(size, b"\0")


# The tags of the multiboot2-info guest and a few more: an information request, entry address,
# module alignment, a framebuffer request, console flags, relocatable, an unknown optional tag.
MULTIBOOT2_TAGS = [(1, 0, (1, 2, 3, 4, 6, 8)), (1, 1, (14, 15, 21)), (6, 0, ()),
                   (5, 0, (800, 600, 32)), (4, 0, (2,)), (10, 0, (0x100000, 0x10000000, 0x1000, 0)),
                   (0x7ABC, 1, (0x5A5A5A5A,))]


def multiboot_aout(load=0x100000, size=0x200, bss=0x1000):
    # The header at the start of the file, loaded at `load`; the kernel is the whole file.
    header = multiboot_header(0x00010003, (load, load, load + size, load + size + bss,
                                           load + 48))
    return (header + b"\0" * (48 - len(header)) + CODE).ljust(size, b"\0")


def bzimage(version=0x020F, setup_sects=4, loadflags=1, relocatable=1, xloadflags=3,
            pref_address=0x1000000, init_size=0x400000, alignment=0x200000, payload=1024):
    """A Linux bzImage as Documentation/arch/x86/boot.rst describes it: setup_sects + 1 sectors
    of real-mode setup with the setup header at 0x1f1, then the protected-mode kernel."""
    setup_size = ((setup_sects or 4) + 1) * 512  # 0 means 4 (boot.rst, "setup_sects")
    image = bytearray(setup_size + payload)
    image[0x1F1] = setup_sects
    struct.pack_into("<H", image, 0x1FE, 0xAA55)
    image[0x200:0x202] = b"\xeb\x66"  # jmp over the header: it ends at 0x202 + 0x66
    image[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", image, 0x206, version)
    image[0x211] = loadflags
    struct.pack_into("<I", image, 0x214, 0x100000)  # code32_start
    struct.pack_into("<I", image, 0x22C, 0x7FFFFFFF)  # initrd_addr_max
    struct.pack_into("<I", image, 0x230, alignment)  # kernel_alignment
    image[0x234] = relocatable
    struct.pack_into("<H", image, 0x236, xloadflags)  # XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
    struct.pack_into("<I", image, 0x238, 2047)  # cmdline_size
    struct.pack_into("<Q", image, 0x258, pref_address)
    struct.pack_into("<I", image, 0x260, init_size)
    image[setup_size:setup_size + len(CODE)] = CODE
    return bytes(image)


def pvh_note(entry, size=4):
    """The ELF note Linux's PVH entry publishes (XEN_ELFNOTE_PHYS32_ENTRY = 18, name "Xen")."""
    return struct.pack("<III", 4, size, 18) + b"Xen\0" + entry.to_bytes(size, "little")


def vmlinux(bits=64, entry=0x1000000, note_size=4):
    return elf(bits, 0xFFFFFFFF81000000 if bits == 64 else entry,
               [(entry, CODE * 16, 0x10000), (0, pvh_note(entry, note_size), 0, 4)])


def bzimage_with_payload(payload, appended_length):
    """A bzImage (protocol 2.15) whose protected-mode part is `payload`, published by
    payload_offset/payload_length, followed by the uncompressed length as mkpiggy appends it."""
    packed = payload + struct.pack("<I", appended_length)
    image = bytearray(bzimage(payload=len(packed)))
    start = 5 * 512
    image[start:] = packed
    struct.pack_into("<II", image, 0x248, 0, len(packed))
    return bytes(image)


def loader_seeds():
    flat = {
        "boot-sector": (CODE.ljust(510, b"\0") + b"\x55\xaa") + trailer(),
        "low-address": CODE * 64 + trailer(load_address=0x1000),
        "below-1mib": CODE + trailer(load_address=0xFFFFC),
        "command-line-ignored": CODE + trailer(COMMAND_LINE, command_line=20),
    }
    elf_images = {
        "elf32": elf(32, 0x100000, [(0x100000, CODE, 4)]) + trailer(),
        "elf64": elf(64, 0x100000, [(0x100000, CODE, 4)]) + trailer(),
        "elf64-bss": elf(64, 0x200000, [(0x200000, CODE * 8, 0x10000)]) + trailer(),
        "elf32-two-segments": elf(32, 0x100000, [(0x100000, CODE, 4), (0x300000, CODE, 0x2000)])
        + trailer(),
        "elf64-above-4g": elf(64, 0x100000, [(0x100000, CODE, 4), (0x100001000, CODE, 4)])
        + trailer(LARGE_MEMORY),
    }
    multiboot = {
        "aout-kludge": multiboot_aout() + trailer(),
        "aout-module": multiboot_aout() + trailer(INITRD | COMMAND_LINE, initrd=0x2000,
                                                  command_line=40),
        "aout-large-memory": multiboot_aout() + trailer(LARGE_MEMORY | COMMAND_LINE,
                                                        command_line=8),
        "elf32": elf(32, 0x100000, [(0x100000, CODE, 4)], multiboot_header(0x3)) + trailer(),
        "elf32-nul-command-line": elf(32, 0x100000, [(0x100000, CODE, 4)],
                                      multiboot_header(0x3))
        + trailer(COMMAND_LINE | COMMAND_LINE_NUL, command_line=16),
    }
    multiboot2 = {
        "aout-tags": multiboot2_aout() + trailer(),
        "aout-module": multiboot2_aout() + trailer(INITRD | COMMAND_LINE, initrd=0x2000,
                                                   command_line=40),
        "elf32": elf(32, 0x100000, [(0x100000, CODE, 4)], multiboot2_header(MULTIBOOT2_TAGS))
        + trailer(LARGE_MEMORY | COMMAND_LINE, command_line=12),
        "elf64-entry-tag": elf(64, 0x100000, [(0x100000, CODE, 4)],
                               multiboot2_header([(3, 0, (0x100000,))])) + trailer(INITRD,
                                                                                  initrd=0x10),
    }
    linux = {
        "bzimage": bzimage() + trailer(COMMAND_LINE, command_line=30),
        "bzimage-initrd": bzimage() + trailer(INITRD | COMMAND_LINE, initrd=0x10000,
                                              command_line=14),
        "bzimage-large-memory": bzimage() + trailer(LARGE_MEMORY | INITRD, initrd=0x100000),
        "bzimage-fixed-address": bzimage(relocatable=0, pref_address=0x100000) + trailer(),
        "bzimage-protocol-2.06": bzimage(version=0x0206) + trailer(),
        "bzimage-long-command-line": bzimage() + trailer(COMMAND_LINE, command_line=4000),
        "bzimage-setup-sects-0": bzimage(setup_sects=0, payload=64) + trailer(),
    }
    kernel = vmlinux()
    pvh = {
        "vmlinux64": kernel + trailer(COMMAND_LINE, command_line=24),
        "vmlinux32-initrd": vmlinux(32) + trailer(INITRD | COMMAND_LINE, initrd=0x1000,
                                                  command_line=10),
        "vmlinux64-note8-large-memory": vmlinux(note_size=8) + trailer(LARGE_MEMORY),
        "bzimage-gzip": bzimage_with_payload(gzip.compress(kernel, mtime=0)[:-4], len(kernel))
        + trailer(),
        "bzimage-xz": bzimage_with_payload(
            lzma.compress(kernel, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32), len(kernel))
        + trailer(COMMAND_LINE, command_line=8),
        "bzimage-uncompressed": bzimage_with_payload(kernel, len(kernel)) + trailer(),
    }
    for name, data in pvh.items():
        write("fuzz_loader_pvh", name, data)
    for name, data in flat.items():
        write("fuzz_loader_flat", name, data)
    for name, data in elf_images.items():
        write("fuzz_loader_elf", name, data)
    for name, data in multiboot.items():
        write("fuzz_loader_multiboot", name, data)
    for name, data in linux.items():
        write("fuzz_loader_linux", name, data)
    for name, data in multiboot2.items():
        write("fuzz_loader_multiboot2", name, data)
    # The header parser reads images without the loader's trailer.
    headers = {
        "all-tags": multiboot2_header(MULTIBOOT2_TAGS),
        "address-tag": multiboot2_aout(),
        "at-32k-boundary": b"\0" * 0x7FD0 + multiboot2_header([(6, 0, ())]),
        "mips": multiboot2_header([], architecture=4),
        "required-unknown": multiboot2_header([(0x7ABC, 0, (1,))]),
    }
    for name, data in headers.items():
        write("fuzz_multiboot2_header", name, data)
    # Detection sees every format: the first two seeds of each.
    for prefix, group in (("flat", flat), ("elf", elf_images), ("multiboot", multiboot),
                          ("multiboot2", multiboot2), ("linux", linux), ("pvh", pvh)):
        for name, data in list(group.items())[:2]:
            write("fuzz_loader_auto", prefix + "-" + name, data)


# --- The ELF reader ------------------------------------------------------------------------

NOBITS, NOTE, STRTAB, SYMTAB = 8, 7, 3, 2


def elf_with_sections(bits, sections, segments=(), elf_type=2, extended_numbering=False):
    """An ELF file laid out as GNU ld writes one (System V gABI): the header, the program headers,
    each section's bytes, then the section header table, .shstrtab last. sections: (name,
    sh_type, bytes or, for SHT_NOBITS, the size, sh_link, sh_entsize, sh_addralign); a segment
    (p_type, section index, address) covers that section's bytes. With extended_numbering,
    e_shnum and e_shstrndx point into section 0 (gABI "Extended Section Numbering")."""
    sections = list(sections) + [(".shstrtab", STRTAB, b"", 0, 0, 1)]
    names = b"\0"
    name_offsets = []
    for section in sections:
        name_offsets.append(len(names))
        names += section[0].encode() + b"\0"
    sections[-1] = (".shstrtab", STRTAB, names, 0, 0, 1)
    ehsize, phsize, shsize = (52, 32, 40) if bits == 32 else (64, 56, 64)
    data = bytearray(ehsize + phsize * len(segments))
    placed = [(0, 0)]  # (sh_offset, sh_size) of each section, the null one first
    for name, kind, contents, link, entsize, align in sections:
        data += b"\0" * (-len(data) % align)
        if kind == NOBITS:
            placed.append((len(data), contents))
        else:
            placed.append((len(data), len(contents)))
            data += contents
    data += b"\0" * (-len(data) % 8)
    table = len(data)
    count = len(sections) + 1
    for index in range(count):
        if index == 0:
            fields = (0, 0, 0, 0, 0, count if extended_numbering else 0,
                      count - 1 if extended_numbering else 0, 0, 0, 0)
        else:
            name, kind, contents, link, entsize, align = sections[index - 1]
            offset, size = placed[index]
            # A symbol table's sh_info is one past its last local symbol: only entry 0 here.
            info = 1 if kind == SYMTAB else 0
            fields = (name_offsets[index - 1], kind, 0, 0, offset, size, link, info, align,
                      entsize)
        data += struct.pack("<IIIIIIIIII" if bits == 32 else "<IIQQQQIIQQ", *fields)
    for index, (kind, section, address) in enumerate(segments):
        offset, size = placed[section]
        filesz = 0 if sections[section - 1][1] == NOBITS else size
        align = sections[section - 1][5]
        if bits == 32:
            header = struct.pack("<IIIIIIII", kind, offset, address, address, filesz, size, 4,
                                 align)
        else:
            header = struct.pack("<IIQQQQQQ", kind, 4, offset, address, address, filesz, size,
                                 align)
        data[ehsize + index * phsize:ehsize + (index + 1) * phsize] = header
    ident = b"\x7fELF" + bytes([1 if bits == 32 else 2, 1, 1]) + b"\0" * 9
    machine = 3 if bits == 32 else 62  # EM_386, EM_X86_64
    fields = (elf_type, machine, 1, 0x100000, ehsize if segments else 0, table, 0, ehsize,
              phsize if segments else 0, len(segments), shsize, 0 if extended_numbering else count,
              0xFFFF if extended_numbering else count - 1)
    data[:ehsize] = ident + struct.pack("<HHIIIIIHHHHHH" if bits == 32 else "<HHIQQQIHHHHHH",
                                        *fields)
    return bytes(data)


def note(name, kind, descriptor, align=4):
    """gABI "Note Section": the header, then the name with its NUL and the descriptor, each
    padded to `align` bytes."""
    name = name.encode() + b"\0"
    data = struct.pack("<III", len(name), len(descriptor), kind) + name
    data += b"\0" * (-len(data) % align) + descriptor
    return data + b"\0" * (-len(data) % align)


def symbol_sections(bits, symbols, strtab_index):
    """.symtab and .strtab: entry 0 the undefined symbol, then (name, value, size, st_info,
    st_shndx) for each."""
    strings = b"\0"
    table = b"\0" * (16 if bits == 32 else 24)
    for name, value, size, info, shndx in symbols:
        if bits == 32:
            table += struct.pack("<IIIBBH", len(strings), value, size, info, 0, shndx)
        else:
            table += struct.pack("<IBBHQQ", len(strings), info, 0, shndx, value, size)
        strings += name.encode() + b"\0"
    return [(".symtab", SYMTAB, table, strtab_index, 16 if bits == 32 else 24, 8),
            (".strtab", STRTAB, strings, 0, 0, 1)]


def elf_file_seeds():
    FUNC, OBJECT, NOTYPE = 0x12, 0x11, 0x10  # STB_GLOBAL with STT_FUNC, STT_OBJECT, STT_NOTYPE
    symbols = [("_start", 0x100000, 16, FUNC, 1), ("counter", 0x101000, 8, OBJECT, 2),
               (".Llocal", 0x100008, 0, NOTYPE, 1), ("undefined", 0, 0, FUNC, 0)]
    notes = note("GNU", 3, b"\xab" * 20) + note("Xen", 18, struct.pack("<Q", 0x100000))

    def kernel(bits):
        return elf_with_sections(
            bits, [(".text", 1, CODE * 4, 0, 0, 16), (".data", 1, b"\1" * 8, 0, 0, 8),
                   (".bss", NOBITS, 0x1000, 0, 0, 16), (".notes", NOTE, notes, 0, 0, 4)]
            + symbol_sections(bits, symbols, 6),
            [(1, 1, 0x100000), (1, 2, 0x101000), (4, 4, 0)])

    seeds = {
        "kernel64-sections": kernel(64),
        "kernel32-sections": kernel(32),
        "object64-no-program-headers": elf_with_sections(
            64, [(".text", 1, CODE, 0, 0, 16)] + symbol_sections(64, symbols[:1], 3), elf_type=1),
        "gnu-property-notes-align8": elf_with_sections(
            64, [(".text", 1, CODE, 0, 0, 16),
                 (".note.gnu.property", NOTE,
                  note("GNU", 5, struct.pack("<IIII", 0xC0000002, 4, 3, 0), 8), 0, 0, 8)],
            [(1, 1, 0x100000), (4, 2, 0)]),
        "extended-section-numbering": elf_with_sections(
            64, [(".text", 1, CODE, 0, 0, 16)] + symbol_sections(64, symbols, 3),
            [(1, 1, 0x100000)], extended_numbering=True),
        "vmlinux64-no-sections": vmlinux(),
    }
    for name, data in seeds.items():
        write("fuzz_elf_file", name, data)


# --- Firmware tables -----------------------------------------------------------------------

def table_seeds():
    # fuzz_acpi_tables: cpus, PM1a event port, PM1a control port, SCI, reset port, reset value,
    # RAM in MiB - 1.
    for cpus in (1, 2, 64, 255, 256, 0):
        write("fuzz_acpi_tables", "cpus-%d" % cpus,
              struct.pack("<HHHBHBB", cpus, 0x600, 0x604, 9, 0xCF9, 0x06, 63))
    write("fuzz_acpi_tables", "sci-16", struct.pack("<HHHBHBB", 4, 0x600, 0x604, 16, 0xCF9, 6, 0))
    # fuzz_mp_table: cpus, RAM in MiB - 1.
    for cpus in (1, 2, 16, 255, 256, 0):
        write("fuzz_mp_table", "cpus-%d" % cpus, struct.pack("<HB", cpus, 31))
    # fuzz_e820: scale (RAM = pages << (12 + scale % 9)), 4 KiB pages.
    for name, scale, pages in (("1mib", 0, 256), ("64mib", 0, 16384), ("3gib", 8, 3 * 4096),
                               ("3gib-plus-4k", 0, 3 * 262144 + 1), ("8gib", 8, 8 * 4096),
                               ("1tib", 8, 1024 * 1024)):
        write("fuzz_e820", name, struct.pack("<BI", scale, pages))


# --- Devices -------------------------------------------------------------------------------

# DeviceFuzzing.h: operation (kind | size << 3 | wide << 5), selector, 32-bit value.
READ, WRITE, GET, SET, RAW, HOST = 0, 2, 4, 5, 6, 7
SIZE = {1: 0, 2: 1, 4: 2}


def op(kind, selector=0, value=0, size=1):
    return struct.pack("<BBI", kind | SIZE[size] << 3, selector, value)


def inb(port):
    return op(READ, port)


def outb(port, value, size=1):
    return op(WRITE, port, value, size)


def attributes(count):
    # Read each listed attribute, then write it back with a few values.
    return b"".join(op(GET, i) + op(SET, i, 0x5A) + op(SET, i, 0xFFFF) for i in range(count))


def device_seeds():
    uart = {
        # 115200 8N1: DLAB, divisor 1, LCR 3; FIFO on; THR empty and RX interrupts; OUT2.
        "init-and-send": outb(3, 0x80) + outb(0, 1) + outb(1, 0) + outb(3, 3) + outb(2, 0xC7)
        + outb(1, 0x03) + outb(4, 0x0B) + b"".join(outb(0, c) for c in b"hello\n")
        + inb(5) + inb(2),
        "receive-and-read": outb(1, 0x01) + outb(4, 0x08) + op(HOST, 3, 0x64636261)
        + op(HOST, 3, 0x68676665) + inb(2) + inb(5) + inb(0) + inb(0) + inb(5),
        "overrun": outb(2, 0x01) + b"".join(op(HOST, 3, 0x41424344) for _ in range(6)) + inb(5),
        "loopback-echo": outb(4, 0x10) + op(HOST, 0x80) + outb(0, 0x55) + inb(0) + inb(6)
        + outb(4, 0x0B) + outb(0, 0x41) + inb(0),
        "wide-accesses": outb(0, 0x12345678, 4) + outb(6, 0xAABB, 2) + op(READ, 7, 0, 4)
        + op(READ, 5, 0, 2),
        "attributes": attributes(16) + op(RAW, 9, 0x1234),
    }
    # 64 MiB, 2025-11-25 00:00:00 UTC in ns. Host input: selector bit 7 steps back, bit 6 steps
    # the value in ns (else in ms), bit 5 then fires the device's timer.
    cmos_header = struct.pack("<Bq", 63, 1764028800 * 10**9)
    cmos = {
        "read-time": cmos_header + b"".join(outb(0, r) + inb(1) for r in (0, 2, 4, 6, 7, 8, 9,
                                                                          0x32)),
        "binary-12-hour": cmos_header + outb(0, 0x0B) + outb(1, 0x04) + outb(0, 4) + inb(1)
        + op(HOST, 0, 43200 * 1000) + outb(0, 4) + inb(1),
        "set-time": cmos_header + outb(0, 0x0B) + outb(1, 0x82) + outb(0, 0) + outb(1, 0x59)
        + outb(0, 9) + outb(1, 0x99) + outb(0, 0x0B) + outb(1, 0x02) + outb(0, 9) + inb(1),
        "flags-and-nmi": cmos_header + outb(0, 0x8C) + inb(1) + op(HOST, 0, 5000) + outb(0, 0x0C)
        + inb(1) + outb(0, 0x0D) + inb(1),
        "interrupts": cmos_header + outb(0, 0x0A) + outb(1, 0x23) + outb(0, 0x01) + outb(1, 0xC0)
        + outb(0, 0x0B) + outb(1, 0x72) + op(HOST, 0x60, 122071) + op(HOST, 0x60, 122071)
        + outb(0, 0x0C) + inb(1) + op(HOST, 0x20, 1000) + outb(0, 0x0C) + inb(1)
        + outb(0, 0x0B) + outb(1, 0x82) + op(HOST, 0x20, 2000) + outb(0, 0x0C) + inb(1),
        "ram-and-attributes": struct.pack("<Bq", 255, -86400 * 10**9) + outb(0, 0x40)
        + outb(1, 0xAB) + outb(0, 0x40) + inb(1) + attributes(20),
    }
    i8042 = {
        "command-byte": outb(4, 0x20) + inb(0) + outb(4, 0x60) + outb(0, 0x47) + inb(4),
        "keyboard-reset": outb(0, 0xFF) + inb(4) + inb(0) + inb(0) + outb(0, 0xF4) + inb(0),
        "scan-codes": outb(4, 0x60) + outb(0, 0x47) + op(HOST, 1, 0xF01C) + inb(0) + inb(0)
        + outb(0, 0xF0) + outb(0, 0x01) + op(HOST, 3, 0x1CF0E075) + inb(0),
        "mouse": outb(4, 0xA8) + outb(4, 0xD4) + outb(0, 0xF4) + inb(0)
        + op(HOST, 0x80, 0x0101405) + inb(0) + inb(0) + inb(0) + outb(4, 0xD4) + outb(0, 0xF3)
        + outb(4, 0xD4) + outb(0, 200),
        "self-test-and-reset": outb(4, 0xAA) + inb(0) + outb(4, 0xAB) + inb(0) + outb(4, 0xD1)
        + outb(0, 0xDF) + outb(4, 0xFE) + inb(1) + outb(1, 0x03),
        "attributes": attributes(20),
    }
    write_all = {
        "fuzz_device_post_code": {
            "codes": outb(0, 0x55) + outb(0, 0xAA) + inb(0) + op(WRITE, 0, 0x1234, 4) + inb(0),
            "attributes": attributes(2),
        },
        "fuzz_device_debug_exit": {
            "exit-codes": outb(0, 0x31) + op(WRITE, 0, 0x1234, 2) + op(WRITE, 0, 0xDEADBEEF, 4)
            + inb(0),
            "attributes": attributes(2),
        },
        "fuzz_device_reset_control": {
            "reset": outb(0, 0x02) + outb(0, 0x06) + inb(0) + outb(0, 0x0E) + inb(0),
            "attributes": attributes(2),
        },
        "fuzz_device_acpi_pm": {
            "power-off": op(WRITE, 4, 0x2000, 2) + op(READ, 4, 0, 2),
            "status-and-enable": op(WRITE, 2, 0x0121, 2) + op(READ, 0, 0, 4)
            + op(WRITE, 0, 0xFFFF, 2) + outb(5, 0x20) + op(READ, 6, 0, 4) + outb(7, 1),
            "sleep-types": op(WRITE, 4, 0x2400, 2) + op(WRITE, 4, 0x3C01, 2) + op(READ, 3, 0, 4),
            "attributes": attributes(4),
        },
        "fuzz_device_bochs_dispi": {
            # Disable, 800 x 600 x 32, enable with LFB_ENABLED (0x41), pan, read back.
            "set-mode": outb(0, 4, 2) + outb(1, 0, 2) + outb(0, 1, 2) + outb(1, 800, 2)
            + outb(0, 2, 2) + outb(1, 600, 2) + outb(0, 3, 2) + outb(1, 32, 2) + outb(0, 4, 2)
            + outb(1, 0x41, 2) + outb(0, 9, 2) + outb(1, 100, 2) + outb(0, 7, 2)
            + op(READ, 1, 0, 2) + outb(0, 0, 2) + op(READ, 1, 0, 2),
            "too-large-and-getcaps": outb(0, 1, 2) + outb(1, 2560, 2) + outb(0, 2, 2)
            + outb(1, 1600, 2) + outb(0, 4, 2) + outb(1, 0x41, 2) + outb(1, 0x02, 2)
            + outb(0, 1, 2) + op(READ, 1, 0, 2) + outb(0, 0xA, 2) + op(READ, 1, 0, 2),
            "firmware-mode": op(HOST, 0x84, 1024 | 768 << 12) + op(HOST, 0x82, 320 | 200 << 12)
            + op(HOST, 0x04, 1) + attributes(12),
        },
        "fuzz_device_vga_text": {
            "cursor": outb(0, 0x0E) + outb(1, 0x07) + outb(0, 0x0F) + outb(1, 0xD0)
            + outb(0, 0x0A) + outb(1, 0x0D) + outb(0, 0x0B) + outb(1, 0x0E) + op(HOST),
            "start-address-and-status": outb(0, 0x0C) + outb(1, 0x01) + outb(0, 0x0D)
            + outb(1, 0x40) + inb(6) + inb(6) + outb(4, 0x29) + outb(5, 0x30) + inb(1),
            "protected-registers": outb(0, 0x11) + outb(1, 0x80) + outb(0, 0x01) + outb(1, 0x4F)
            + outb(0, 0x09) + outb(1, 0xFF) + outb(0, 0x30) + outb(1, 1) + attributes(12),
        },
        "fuzz_device_fw_cfg": {
            # Select the signature (16-bit write at 0x510) and read it at 0x511; the directory.
            "select-and-read": outb(0, 0x0000, 2) + inb(1) + inb(1) + inb(1) + inb(1)
            + outb(0, 0x0019, 2) + b"".join(inb(1) for _ in range(12)) + inb(4) + inb(11),
            # FWCfgDmaAccess at 0x100 (words 0x40-0x43): select 0x19 | read, 64 bytes to 0x200.
            "dma-read-directory": op(HOST, 0x40, 0x0019000A) + op(HOST, 0x41, 64)
            + op(HOST, 0x42, 0) + op(HOST, 0x43, 0x200) + op(HOST, 0x80, 0x100),
            # Skip 8 bytes of the first file; write 4 bytes into the writable one (0x28); then the
            # DMA register written high half first, low half last.
            "dma-skip-write": op(HOST, 0x40, 0x0020000C) + op(HOST, 0x41, 8) + op(HOST, 0x80, 0x100)
            + op(HOST, 0x40, 0x00280018) + op(HOST, 0x41, 4) + op(HOST, 0x43, 0x300)
            + op(HOST, 0x80, 0x100) + outb(4, 0x01000000, 4) + outb(8, 0x00010000, 4),
            "attributes": attributes(24),
        },
        "fuzz_device_uart16550": uart,
        "fuzz_device_cmos_rtc": cmos,
        "fuzz_device_i8042": i8042,
    }
    for target, seeds in write_all.items():
        for name, data in seeds.items():
            write(target, name, data)


# --- virtio ---------------------------------------------------------------------------------

def virtio_block_seed(requests, size_exponent=3, flags=0, indirect_table=None):
    """fuzz_virtio_block: a queue of 1 << size_exponent entries at 0x10000 holding `requests`,
    each a list of (address, length, writable) buffers chained from consecutive descriptors;
    buffers' contents are (address, bytes) pairs in `contents`."""
    size = 1 << size_exponent
    base = 0x10000
    memory = bytearray(0x10000)  # guest memory 0x10000-0x1ffff
    avail = 16 * size
    heads = []
    index = 0
    for chain, contents in requests:
        heads.append(index)
        for position, (address, length, writable) in enumerate(chain):
            flags_field = (2 if writable else 0) | (1 if position + 1 < len(chain) else 0)
            struct.pack_into("<QIHH", memory, 16 * index, address, length, flags_field,
                             index + 1)
            index += 1
        for address, data in contents:
            memory[address - base:address - base + len(data)] = data
    for slot, head in enumerate(heads):
        struct.pack_into("<H", memory, avail + 4 + 2 * slot, head)
    return struct.pack("<BBH", size_exponent, flags, len(heads)) + bytes(memory)


def virtio_seeds():
    header = lambda kind, sector: struct.pack("<IIQ", kind, 0, sector)
    hdr, data, status = 0x18000, 0x19000, 0x1f000
    read_request = ([(hdr, 16, False), (data, 512, True), (status, 1, True)], [(hdr, header(0, 3))])
    write_request = ([(hdr, 16, False), (data, 1024, False), (status, 1, True)], [(hdr, header(1, 5))])
    flush = ([(hdr, 16, False), (status, 1, True)], [(hdr, header(4, 0))])
    get_id = ([(hdr, 16, False), (data, 20, True), (status, 1, True)], [(hdr, header(8, 0))])
    discard = ([(hdr, 16, False), (data, 16, False), (status, 1, True)],
               [(hdr, header(11, 0)), (data, struct.pack("<QII", 8, 4, 0))])
    zeroes = ([(hdr, 16, False), (data, 32, False), (status, 1, True)],
              [(hdr, header(13, 0)), (data, struct.pack("<QIIQII", 0, 2, 1, 10, 2, 0))])
    split = ([(hdr, 5, False), (hdr + 5, 11, False), (data, 513, True)], [(hdr, header(0, 1))])
    write("fuzz_virtio_block", "read", virtio_block_seed([read_request]))
    write("fuzz_virtio_block", "write-flush", virtio_block_seed([write_request, flush]))
    write("fuzz_virtio_block", "get-id-discard", virtio_block_seed([get_id, discard], flags=2))
    write("fuzz_virtio_block", "write-zeroes", virtio_block_seed([zeroes], size_exponent=5))
    write("fuzz_virtio_block", "split-header", virtio_block_seed([split], flags=3))


def virtio_pci_seed(flags, operations):
    """fuzz_virtio_pci: the flags byte, then the operations (see the target's header)."""
    return bytes([flags]) + b"".join(operations)


def virtio_pci_seeds():
    bar = lambda offset, value, size_selector: struct.pack("<BHBQ", 2, offset, size_selector, value)
    config = lambda offset, value, size_selector: struct.pack("<BBBI", 0, offset, size_selector, value)
    ram = lambda address, data: struct.pack("<BIB", 4, address, len(data)) + data
    status = lambda value: bar(0x14, value, 0)
    # A driver's bring-up (VIRTIO 1.2, 3.1.1), queue 0 of 8 entries at 0x10000, one read request.
    bring_up = [
        status(0), status(1), status(3),
        bar(0x08, 1, 2), bar(0x0C, 1, 2),          # driver_feature, bits 32-63: VERSION_1
        status(11),
        bar(0x16, 0, 1), bar(0x18, 8, 1),          # queue_select 0, queue_size 8
        bar(0x20, 0x10000, 3), bar(0x28, 0x10080, 3), bar(0x30, 0x10100, 3),
        bar(0x1C, 1, 1),                           # queue_enable
        status(15),
    ]
    request = [
        ram(0x18000, struct.pack("<IIQ", 0, 0, 3)),
        ram(0x10000, struct.pack("<QIHHQIHHQIHH", 0x18000, 16, 1, 1, 0x19000, 512, 3, 2,
                                 0x1F000, 1, 2, 0)),
        ram(0x10080, struct.pack("<HHH", 0, 1, 0)),
        bar(0x2000, 0, 1), struct.pack("<BB", 5, 0),
    ]
    msix = [config(0x9A, 0x8000, 1), bar(0x3000, 0xFEE00000, 2), bar(0x300C, 0, 2),
            bar(0x1A, 0, 1)]
    write("fuzz_virtio_pci", "bring-up-read", virtio_pci_seed(0, bring_up + request))
    write("fuzz_virtio_pci", "msix-read-only", virtio_pci_seed(3, bring_up + msix + request))
    write("fuzz_virtio_pci", "reset", virtio_pci_seed(1, bring_up + [status(0)] + request))


# --- snapshots ------------------------------------------------------------------------------

def snapshot_file(sections):
    """A snapshot (core/snapshot/SnapshotFile.h) of (name, payload) sections and its end."""
    out = b"KVMSSNAP" + struct.pack("<II", 1, 0)
    for name, payload in list(sections) + [("end", struct.pack("<Q", len(sections)))]:
        encoded = name.encode()
        crc = zlib.crc32(payload, zlib.crc32(encoded))
        out += struct.pack("<I", len(encoded)) + encoded + struct.pack("<QI", len(payload), crc)
        out += payload
    return out


def device_state(fields):
    """A device's saved state (core/snapshot/DeviceStateCodec.h): (group, name, type, value)."""
    out = struct.pack("<I", len(fields))
    for group, name, kind, value in fields:
        out += struct.pack("<H", len(group)) + group.encode()
        out += struct.pack("<H", len(name)) + name.encode() + struct.pack("<B", kind)
        if kind == 5:
            out += struct.pack("<I", len(value)) + value
        else:
            out += struct.pack("<Q", value)
    return out


def snapshot_seeds():
    ram = struct.pack("<Q", 1 << 20) + struct.pack("<QQ", 0x1000, 1) + bytes(range(256)) * 16
    rtc = device_state([("registers", "index", 1, 0x0e), ("cmos", "bytes", 5, bytes(128))])
    write("fuzz_snapshot_reader", "ram-and-device", snapshot_file([("ram", ram), ("device/rtc", rtc)]))
    write("fuzz_snapshot_reader", "empty", snapshot_file([]))
    write("fuzz_snapshot_reader", "wrong-ram-size",
          snapshot_file([("ram", struct.pack("<Q", 2 << 20))]))
# --- PCI -----------------------------------------------------------------------------------

# fuzz_pci_config.cpp: operation (kind | size << 3), selector, 32-bit value.
PCI_ADDRESS, PCI_DATA_READ, PCI_DATA_WRITE, PCI_ECAM_READ, PCI_ECAM_WRITE, PCI_INTX, PCI_BAR, \
    PCI_ATTRIBUTE = range(8)
PCI_SIZE = {1: 0, 2: 1, 4: 2, 8: 3}


def pci(kind, selector=0, value=0, size=4):
    return struct.pack("<BBI", kind | PCI_SIZE[size] << 3, selector, value)


def pci_config_write(device, register, value, size=4):
    address = 0x80000000 | device << 11 | (register & 0xFC)
    return pci(PCI_ADDRESS, 1, address) + pci(PCI_DATA_WRITE, register & 3, value, size)


def pci_seeds():
    seeds = {
        # Linux's probe, then BAR sizing and placement of device 2, memory and I/O on, INTx#.
        "probe-size-place": pci(PCI_ADDRESS, 1, 0x80000000) + pci(PCI_DATA_READ, 0)
        + pci_config_write(2, 0x10, 0xFFFFFFFF) + pci(PCI_DATA_READ, 0)
        + pci_config_write(2, 0x10, 0xC001) + pci_config_write(2, 0x14, 0xC0000000)
        + pci_config_write(2, 0x04, 0x0003, 2) + pci(PCI_BAR, 1, 0xC004)
        + pci(PCI_BAR, 0, 0x10) + pci(PCI_INTX, 0, 1) + pci(PCI_INTX, 0, 0),
        # SeaBIOS: PAM shadowing, PIRQ routes, then a BAR moved onto RAM and onto another BAR.
        "firmware-and-hostile": pci_config_write(0, 0x58, 0x33333000)
        + pci_config_write(0, 0x5C, 0x33333333) + pci_config_write(1, 0x60, 0x0B0B0A0A)
        + pci_config_write(0, 0x72, 0x5A, 1) + pci_config_write(2, 0x04, 0x0002, 2)
        + pci_config_write(2, 0x14, 0x00100000) + pci_config_write(2, 0x18, 0x00100000)
        + pci(PCI_ECAM_READ, 2, 0x00000000, 8) + pci(PCI_ECAM_WRITE, 0x42, 0x03C00000, 2),
        "attributes": b"".join(pci(PCI_ATTRIBUTE, i, 0xC0000000 + i) for i in range(0, 120, 3)),
    }
    for name, data in seeds.items():
        write("fuzz_pci_config", name, data)
def ide_seed(config, ram, records):
    """fuzz_ide: the configuration byte, guest RAM from 0 (PRD tables and regions), then
    DeviceFuzzing.h records over the flat range: 0-7 command block, 8 control, 9-16 bus master."""
    return struct.pack("<BH", config, len(ram)) + bytes(ram) + records


def ide_seeds():
    CONTROL, BMIC, BMIS, BMIDTP = 8, 9, 11, 13
    inw = lambda port: op(READ, port, 0, 2)
    outw = lambda port, value: op(WRITE, port, value, 2)

    def task_file(command, lba=0, count=1, device=0xE0, features=0):
        return (outb(1, features) + outb(2, count) + outb(3, lba & 0xFF) + outb(4, lba >> 8 & 0xFF)
                + outb(5, lba >> 16 & 0xFF) + outb(6, device) + outb(7, command))

    reset = outb(CONTROL, 0x0E) + outb(CONTROL, 0x0A) + outb(CONTROL, 0x08)
    read_block = lambda words: b"".join(inw(0) for _ in range(words))

    def prd_ram(entries, table=0x1000):
        ram = bytearray(table + 8 * len(entries))
        for i, (address, count, last) in enumerate(entries):
            struct.pack_into("<II", ram, table + 8 * i, address, count | (0x80000000 if last else 0))
        return ram

    def dma(command_records, to_memory=True, table=0x1000):
        direction = 0x08 if to_memory else 0
        return (op(WRITE, BMIDTP, table, 4) + outb(BMIC, direction) + outb(BMIS, 0x06)
                + command_records + outb(BMIC, direction | 1) + inb(BMIS) + outb(BMIC, 0)
                + inb(7) + inb(1))

    def packet(cdb, byte_count=2048, dma_flag=0, device=0xB0):
        cdb = bytes(cdb).ljust(12, b"\0")
        return (outb(6, device) + outb(1, dma_flag) + outb(4, byte_count & 0xFF)
                + outb(5, byte_count >> 8) + outb(7, 0xA0) + inb(8)
                + b"".join(outw(0, cdb[i] | cdb[i + 1] << 8) for i in range(0, 12, 2)))

    read10 = lambda lba, count: [0x28, 0, 0, 0, lba >> 8, lba & 0xFF, 0, count >> 8, count & 0xFF]
    write("fuzz_ide", "disk-identify", ide_seed(0, b"", reset + task_file(0xEC, device=0xA0)
                                                  + read_block(256) + inb(7)))
    write("fuzz_ide", "disk-pio-read-write",
          ide_seed(0, b"", task_file(0x20, 5, 2) + read_block(512) + inb(7)
                   + task_file(0x30, 9, 1) + b"".join(outw(0, 0xA5A5) for _ in range(256))
                   + inb(7) + task_file(0xC6, count=4) + task_file(0xC4, 0, 8) + read_block(1024)
                   + task_file(0xE7)))
    write("fuzz_ide", "disk-lba48-hob",
          ide_seed(0, b"", outb(2, 0) + outb(3, 0) + outb(4, 0) + outb(5, 0)
                   + task_file(0x24, 3, 2, 0x40) + outb(CONTROL, 0x80) + inb(2) + inb(3)
                   + outb(CONTROL, 0) + read_block(512)))
    write("fuzz_ide", "disk-dma-read",
          ide_seed(0, prd_ram([(0x4000, 512, False), (0x8000, 512, True)]),
                   dma(task_file(0xC8, 4, 2))))
    write("fuzz_ide", "disk-dma-write-start-first",
          ide_seed(0, prd_ram([(0x4000, 1024, True)]),
                   op(WRITE, BMIDTP, 0x1000, 4) + outb(BMIC, 1) + task_file(0xCA, 6, 2)
                   + inb(BMIS) + outb(BMIC, 0) + inb(7)))
    write("fuzz_ide", "disk-dma-bad-tables",
          ide_seed(0, prd_ram([(0xFFFFF000, 512, True)]),
                   dma(task_file(0xC8, 0, 1)) + dma(task_file(0xC8, 0, 4))
                   + dma(task_file(0x25, 0, 1), table=0xFFFF0)))
    write("fuzz_ide", "disk-dma-no-end",
          ide_seed(0, prd_ram([(0x20000, 2, False)] * 256), dma(task_file(0xC8, 0, 8))))
    write("fuzz_ide", "cdrom-pio-read",
          ide_seed(6, b"", reset + outb(6, 0xB0) + inb(4) + inb(5) + outb(7, 0xA1) + read_block(256)
                   + packet([0x12, 0, 0, 0, 36]) + read_block(18) + inb(7)
                   + packet(read10(16, 2)) + inb(2) + inb(4) + read_block(1024) + inb(7)
                   + read_block(1024) + inb(7)))
    write("fuzz_ide", "cdrom-sense-toc-config",
          ide_seed(1, b"", packet(read10(100, 1), device=0xA0) + inb(7) + inb(1)
                   + packet([0x03, 0, 0, 0, 18], device=0xA0) + read_block(9)
                   + packet([0x43, 2, 0, 0, 0, 0, 0, 0, 100], device=0xA0) + read_block(10)
                   + packet([0x46, 0, 0, 0, 0, 0, 0, 0, 64], device=0xA0) + read_block(16)
                   + packet([0x5A, 0, 0x3F, 0, 0, 0, 0, 0, 64], device=0xA0) + read_block(20)
                   + packet([0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8], device=0xA0) + read_block(4)))
    write("fuzz_ide", "cdrom-dma-read",
          ide_seed(1, prd_ram([(0x4000, 4096, True)]),
                   dma(packet(read10(16, 2), 0, 1, device=0xA0))))
    write("fuzz_ide", "attributes-and-reset",
          ide_seed(6, b"", task_file(0x20, 1, 1, 0xE0) + attributes(48) + op(HOST) + inb(7)))


if __name__ == "__main__":
    loader_seeds()
    elf_file_seeds()
    table_seeds()
    device_seeds()
    virtio_seeds()
    virtio_pci_seeds()
    snapshot_seeds()
    pci_seeds()
    ide_seeds()
