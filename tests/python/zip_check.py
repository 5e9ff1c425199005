"""Python's side of tempo's zip writer test (tests/serialization/test_zip_writer.cpp): opens a zip
with Python's zipfile, checks every record's CRC (testzip) and prints one line per record,
"<name> <size> <crc32 as 8 hex digits>", so the C++ side can compare with what it wrote.

Usage: /usr/bin/python3 zip_check.py FILE
"""
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as z:
    bad = z.testzip()
    if bad is not None:
        print(f"bad record {bad}")
        sys.exit(1)
    for info in z.infolist():
        if info.compress_type != zipfile.ZIP_STORED:
            print(f"compressed record {info.filename}")
            sys.exit(1)
        print(f"{info.filename} {info.file_size} {info.CRC:08x}")
