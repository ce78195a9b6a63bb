#!/usr/bin/env bash
# Rebuilds DejaVuSans-subset.ttf, the font invoices are printed in: DejaVu
# Sans 2.37 (Debian's fonts-dejavu-core) cut to Latin, Greek, Cyrillic,
# punctuation and currency signs, without hinting (a PDF is not rasterised
# at screen sizes). 152 KB instead of 760 KB: the difference is 0.3 MB of
# invoice-pdf's zipped bootstrap (docs/decisions/0010). Run by hand when the
# font or its ranges change; the result is checked in.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source_font="${1:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}"
if [[ ! -f "$source_font" ]]; then
  echo "no $source_font: apt-get install fonts-dejavu-core, or pass the font's path" >&2
  exit 1
fi
venv="$(mktemp -d)"
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet fonttools==4.55.3
"$venv/bin/pyftsubset" "$source_font" \
  --unicodes="U+0020-007E,U+00A0-024F,U+0259,U+02B0-02FF,U+0300-036F,U+0370-03FF,U+0400-052F,U+1E00-1EFF,U+2000-206F,U+20A0-20CF,U+2100-214F,U+2190-2193,U+2212,U+FFFD" \
  --layout-features='*' --no-hinting --name-IDs='*' --name-legacy --name-languages='*' \
  --glyph-names=false --notdef-outline \
  --output-file="$here/DejaVuSans-subset.ttf"
