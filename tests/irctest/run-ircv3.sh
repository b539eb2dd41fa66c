#!/usr/bin/env bash
# The IRC door against irctest's IRCv3 selection (the IRCv3 tests of the core
# files and the IRCv3 feature files): as run-core.sh, with the floor in
# ircv3-floor.txt. Extra arguments go to pytest.
IRCTEST_SELECTION=ircv3 exec "$(dirname "$0")/run-core.sh" "$@"
