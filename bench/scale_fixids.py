"""scale_fixids.py — make the 身份证号 of people from outside a county unique
to that county, in a members CSV exported from a demo district.

The demo generator gives every county the same pool of "older" area codes
(平利县's pre-2000 codes 6124xx) and the same birth-date/sequence space, so
ten demo counties share ~9 % of their ID numbers and `liubao import` rightly
refuses them as already registered elsewhere.  For the scale benchmark each
area code other than the county's own is mapped, per file and one-to-one, to
a code no county uses ("7" + the county's last three digits + a two-digit
index), and the check digit is recomputed.  Sex and birth date are untouched.

Usage: scale_fixids.py COUNTY IN.csv OUT.csv
"""
import csv
import sys

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def check_digit(body):
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, W)) % 11]


def main():
    county, src, dst = sys.argv[1:4]
    areas = {}
    with open(src, newline="", encoding="utf-8-sig") as f, \
            open(dst, "w", newline="", encoding="utf-8-sig") as g:
        r, w = csv.reader(f), csv.writer(g, lineterminator="\n")
        header = next(r)
        col = header.index("证件号码")
        w.writerow(header)
        for row in r:
            idn = row[col]
            area = idn[:6]
            if len(idn) == 18 and area != county:
                if area not in areas:
                    n = len(areas)
                    if n >= 200:
                        sys.exit("too many foreign area codes in %s" % src)
                    areas[area] = "%s%s%02d" % ("7" if n < 100 else "8", county[3:6], n % 100)
                body = areas[area] + idn[6:17]
                row[col] = body + check_digit(body)
            w.writerow(row)
    print("%s: %d foreign area codes remapped" % (county, len(areas)))


if __name__ == "__main__":
    main()
