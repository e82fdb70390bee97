#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds a consumer against it
# with find_package(aiocpp) and with pkg-config (its flags before and after
# the source file), and runs each. Checks the shared library's SONAME.
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

# The shared library: libaiocpp.so -> the SONAME's file -> the real one.
libdir=$(dirname "$(find "$prefix" -name 'libaiocpp.so' | head -n 1)")
test -n "$libdir"
version=$(sed -n 's/^project(aiocpp VERSION \([0-9.]*\).*/\1/p' "$source_dir/CMakeLists.txt")
soname=$(readelf -d "$libdir/libaiocpp.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [[ $soname != "libaiocpp.so.${version%.*}" ]]; then
  echo "unexpected SONAME '$soname' for version $version" >&2
  exit 1
fi
test -f "$libdir/$soname" && test -f "$libdir/libaiocpp.so.$version" && test -f "$libdir/libaiocpp.a"

# pkg-config's view of the same installation, in both argument orders: with
# only a static library, flags before the source file would leave aiocpp's
# symbols undefined; -laiocpp finds the shared library first.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/$(gcc -print-multiarch)/pkgconfig"
flags=$(pkg-config --cflags --libs aiocpp)
main=$source_dir/tests/install_consumer/main.cpp
c++ -o "$prefix/consumer_pc_after" "$main" $flags
c++ $flags -o "$prefix/consumer_pc_before" "$main"
for consumer in consumer_pc_after consumer_pc_before; do
  if ! readelf -d "$prefix/$consumer" | grep -q "NEEDED.*\[$soname\]"; then
    echo "$consumer does not load $soname" >&2
    exit 1
  fi
  test "$(LD_LIBRARY_PATH="$libdir" "$prefix/$consumer")" = 42
done
echo "install OK: find_package, pkg-config (flags before and after the source), SONAME $soname"
