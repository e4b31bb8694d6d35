#!/bin/bash -eu
# OSS-Fuzz and ClusterFuzzLite run this with $CC, $CFLAGS,
# $LIB_FUZZING_ENGINE and $OUT set, in the repository (the Dockerfile's
# WORKDIR).  The work is scripts/oss-fuzz-build.sh's, which `make
# fuzz-smoke` runs too.
exec sh scripts/oss-fuzz-build.sh
