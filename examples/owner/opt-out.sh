#!/usr/bin/env bash
# Data owner: withdraw the contribution. The next release no longer contains the expert, and the
# auditor can check that it does not.
source "$(dirname "$0")/../common.sh"
ORG=${1:?usage: opt-out.sh ORG}
HOME_DIR=$WORK/owners/$ORG
INDEX=$(sed -n 's/.*"logIndex":\([0-9]*\).*/\1/p' "$HOME_DIR/submission.json")
run revoke --server "$SERVER" --key "$HOME_DIR/keys/$ORG.key" "$INDEX"
