#!/usr/bin/env bash
# Operator: enrol an organisation's verifier key (received out of band, e.g. WORK/owners/ORG/keys/ORG.pub).
source "$(dirname "$0")/../common.sh"
ORG=${1:?usage: enrol.sh ORG [PUBKEY_FILE]}
PUB=${2:-$WORK/owners/$ORG/keys/$ORG.pub}
run admin enroll --server "$SERVER" --operator-key "$WORK/operator/operator.key" --name "$ORG" --pubkey "$PUB"
