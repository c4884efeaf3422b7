#!/usr/bin/env bash
# Installs what the test suite needs and is missing, idempotently:
#   - Debian packages: a PostgreSQL server (storage tests start a throwaway cluster),
#     Chromium (browser tests drive /usr/bin/chromium; no browser is ever downloaded),
#     libatomic1 (Playwright's bundled Node driver links against it), Node.js and npm,
#     openssl (certificates for the webhook TLS test), LibreOffice Calc without a GUI (a test
#     converts the export's CSV to xlsx as an analyst's spreadsheet opens it: about 90 MB to
#     download, 280 MB installed, about a minute and a half);
#   - Pango and HarfBuzz's subsetter with a font (WeasyPrint draws the plan's PDF brief with them;
#     without them the app still runs and the PDF link says how to get them), and poppler-utils
#     (pdftoppm: the browser tests draw the PDF's pages as PNGs to look at);
#   - the axe-core npm package (injected into pages by the accessibility tests).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
ldconfig -p 2>/dev/null | grep 'libatomic\.so\.1' >/dev/null || need+=(libatomic1)
# The webhook TLS test makes its certificates with the openssl command.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The export test opens the CSV in LibreOffice Calc, as an analyst's spreadsheet would.
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
# WeasyPrint's libraries (the same list as the Dockerfile's), a font, and pdftoppm.
for lib in libpango-1.0.so.0:libpango-1.0-0 libpangoft2-1.0.so.0:libpangoft2-1.0-0 \
  libharfbuzz-subset.so.0:libharfbuzz-subset0; do
  ldconfig -p 2>/dev/null | grep "${lib%%:*}" >/dev/null || need+=("${lib##*:}")
done
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: ${need[*]} ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing system packages: ${need[*]} (install them as root; tests that need them are skipped locally and fail with CI=true)" >&2
  fi
fi

if [ ! -f node_modules/axe-core/axe.min.js ] && command -v npm >/dev/null 2>&1; then
  echo "installing axe-core from npm ..."
  npm ci --no-audit --no-fund --silent
fi
