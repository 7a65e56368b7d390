#!/bin/sh
# tests/update-screens.sh: rewrite the monitor's expected screens
# (tests/screens/*.txt) from what the monitor draws now. Run it after a
# reviewed change to the layout, a detector's text or a trace, then read
# `git diff tests/screens` before committing.
cd "$(dirname "$0")/.." || exit 2
UPDATE_SCREENS=1 sh tests/monitor.sh | grep -v '^ok '
echo "screens in tests/screens/ rewritten; review: git diff --stat tests/screens"
