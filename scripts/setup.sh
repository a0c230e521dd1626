#!/usr/bin/env bash
# Create .venv and install the service (and, with --test, what the tests need).
set -euo pipefail
cd "$(dirname "$0")/.."


install_system_packages() {
  local missing=()
  command -v pdftotext >/dev/null || missing+=(poppler-utils)
  command -v qpdf >/dev/null || missing+=(qpdf)
  command -v age >/dev/null || missing+=(age)
  command -v 7z >/dev/null || command -v 7zz >/dev/null || missing+=(7zip)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v tesseract >/dev/null || missing+=(tesseract-ocr tesseract-ocr-eng)
  command -v soffice >/dev/null || missing+=(libreoffice-writer-nogui)
  command -v gs >/dev/null || missing+=(ghostscript)
  command -v grops >/dev/null || missing+=(groff-base)
  [ -d /usr/share/poppler ] || missing+=(poppler-data)
  [ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
  dpkg -s libreoffice-calc-nogui >/dev/null 2>&1 || missing+=(libreoffice-calc-nogui)
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing system packages: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "--test" ]; then
  install_system_packages
  .venv/bin/python -m pip install -q -e ".[test]"
else
  .venv/bin/python -m pip install -q -e .
fi
