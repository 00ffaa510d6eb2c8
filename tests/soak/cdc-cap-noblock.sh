#!/usr/bin/env bash
# cdc_total_space reached while Kafka is down with cdc_block_writes: false on
# a real Cassandra 5.0: Cassandra refuses no write and deletes unconsumed
# segments itself; cdctail counts them in cdctail_segments_lost_total and
# logs what it had delivered of each; the writes lost are counted in Kafka.
# The scenario is tests/e2e/t0485-cdc-cap.sh's with CDC_BLOCK=false (about
# 60 s; in `make soak` because `make test` has no room left for it).
exec env CDC_BLOCK=false "$(dirname "$0")/../e2e/t0485-cdc-cap.sh"
