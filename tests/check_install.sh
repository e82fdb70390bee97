#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds a consumer against it
# with find_package(aiocpp) and with pkg-config, and runs both.
set -euo pipefail
build_dir=$1
source_dir=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
cmake -S "$source_dir/tests/install_consumer" -B "$prefix/consumer" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/consumer" >/dev/null
test "$("$prefix/consumer/consumer")" = 42
# pkg-config's view of the same installation.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/$(gcc -print-multiarch)/pkgconfig"
flags=$(pkg-config --cflags --libs aiocpp)
c++ -o "$prefix/consumer_pc" "$source_dir/tests/install_consumer/main.cpp" $flags
test "$("$prefix/consumer_pc")" = 42
echo "install OK: find_package and pkg-config"
