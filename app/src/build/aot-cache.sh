#!/bin/sh
# Build step of the distribution (app/pom.xml, package phase): makes lib/fdrestore.aot, a JDK 25 AOT cache
# (JEP 483/514/515: the classes a start loads, already linked, and the training's method profiles), by
# running fdrestore.app.Training on the launcher's module path with the launcher's JVM options.
# Usage (in the distribution's directory): aot-cache.sh JDK-HOME SAMPLE-DIR...
# Without a JDK 25 there, or when the cache cannot be made, it says so and leaves none: bin/fdrestore then
# runs JDK 17 with lib/fdrestore.jsa. Never fails the build.
jdk=$1
shift
rm -f lib/fdrestore.aot lib/fdrestore.aot.jdk lib/fdrestore.aot.home
if [ -z "$jdk" ] || [ ! -x "$jdk/bin/java" ]; then
  echo "fdrestore: no JDK at '$jdk' (-Dfdrestore.aot.jdk): no AOT cache; bin/fdrestore runs java with lib/fdrestore.jsa"
  exit 0
fi
if ! "$jdk/bin/java" -XX:AOTCacheOutput=/dev/null -XX:AOTMode=off -version >/dev/null 2>&1; then
  echo "fdrestore: $jdk cannot make an AOT cache (JDK 25 or newer is needed): no AOT cache"
  exit 0
fi
start=$(date +%s)
FDRESTORE_SERVER=off "$jdk/bin/java" -XX:AOTCacheOutput=lib/fdrestore.aot -Xlog:aot=off -Xlog:cds=off \
  -XX:TieredStopAtLevel=1 -Djnr.ffi.x86asm.enabled=false -Djffi.boot.library.path="$PWD/lib/jffi" --enable-native-access=org.jnrproject.jffi \
  -Dfdrestore.home="$PWD" -p "$PWD/lib" --add-modules ALL-MODULE-PATH -m fdrestore.app/fdrestore.app.Training "$@" \
  >lib/fdrestore.aot.log 2>&1
if [ -s lib/fdrestore.aot ]; then
  rm -f lib/fdrestore.aot.log
  echo "$jdk" >lib/fdrestore.aot.jdk
  pwd >lib/fdrestore.aot.home
  echo "fdrestore: AOT cache lib/fdrestore.aot made with $jdk in $(( $(date +%s) - start )) s"
else
  rm -f lib/fdrestore.aot
  echo "fdrestore: the AOT cache could not be made with $jdk (see lib/fdrestore.aot.log): none"
fi
