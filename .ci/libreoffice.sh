#!/usr/bin/env bash
# LibreOffice for the layout tests (tests/flows/test_page_layout.py), which read the reports as
# LibreOffice lays them out: installed from the Debian packages when any is missing, as root,
# quietly and without questions. CI runs as root; elsewhere a missing package is an error.
#
#   libreoffice-writer-nogui, -calc-nogui   the headless converter (soffice)
#   poppler-utils                            pdftoppm/pdftotext, to look at the pages by hand
#   fonts-liberation2                        Times New Roman's metrics with the Vietnamese letters
#                                            (fonts-liberation 1.x lacks ơ, ư, ệ...: LibreOffice
#                                            then draws them from another, wider font)
#   fonts-dejavu-core                        the fallback fonts LibreOffice expects
set -euo pipefail

packages=(libreoffice-writer-nogui libreoffice-calc-nogui poppler-utils fonts-liberation2
    fonts-dejavu-core)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "libreoffice.sh: LibreOffice and its fonts are installed" >&2
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "libreoffice.sh: missing ${missing[*]}; install them as root (apt-get install)" >&2
    exit 1
fi
echo "libreoffice.sh: installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
timeout 600 apt-get update -qq >&2
timeout 1200 apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
command -v soffice >/dev/null
