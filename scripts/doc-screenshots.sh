#!/bin/sh
# Refresh the screenshots in docs/images from the Chromium tests (generated test data only).
set -eu
cd "$(dirname "$0")/.."
.venv/bin/pytest -q -p no:cacheprovider \
  tests/web/test_start_pages_browser.py tests/web/test_dpo_tools_browser.py \
  tests/web/test_start_admin_browser.py
for name in start-dsl start-dpo start-admin dpo-lookup; do
  cp "test-artifacts/web/$name.png" docs/images/
done
