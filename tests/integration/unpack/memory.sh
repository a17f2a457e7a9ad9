#!/bin/bash
. "$TOP_SRCDIR/tests/lib/common.sh"
finish
