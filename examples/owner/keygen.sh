#!/usr/bin/env bash
# Data owner: a key pair. Send ORG.pub to the operator for enrolment; ORG.key stays here (mode 0600).
source "$(dirname "$0")/../common.sh"
ORG=${1:?usage: keygen.sh ORG}
run keygen --name "$ORG" --out "$WORK/owners/$ORG/keys"
