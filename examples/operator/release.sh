#!/usr/bin/env bash
# Operator: publish a release now (the combined MoE of every accepted, unrevoked contribution).
source "$(dirname "$0")/../common.sh"
run admin release --server "$SERVER" --operator-key "$WORK/operator/operator.key"
