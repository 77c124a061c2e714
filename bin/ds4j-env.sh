# ds4j-env.sh: sourced by bin/dscli (and later bin/dsbench). Sets DS4J_ROOT and JAVA (a JDK 25+ java) and defines
# ds4j_build_if_stale, which builds the CLI with Maven when its jar is missing or older than the sources.
# Bash only; it returns instead of exiting where it can, but callers run it under `set -e` semantics of their own.

# The repository root: this file's directory's parent, with symlinks followed so a linked bin/dscli works too.
ds4j_resolve_root()
{
    local source="${BASH_SOURCE[0]}"
    local dir
    while [ -L "$source" ]; do
        dir="$(cd -P "$(dirname "$source")" && pwd)"
        source="$(readlink "$source")"
        case "$source" in
            /*) ;;
            *) source="$dir/$source" ;;
        esac
    done
    dir="$(cd -P "$(dirname "$source")" && pwd)"
    DS4J_ROOT="$(dirname "$dir")"
}

# The major version of a java executable ("1.8.0_x" -> 8, "25.0.1" -> 25), or 0 when it does not run.
ds4j_java_major()
{
    local version
    version="$("$1" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)"
    case "$version" in
        1.*) version="${version#1.}" ;;
    esac
    version="${version%%[!0-9]*}"
    echo "${version:-0}"
}

# Sets JAVA (and DS4J_JAVA_HOME) to $JAVA_HOME/bin/java when that is JDK 25+, else to the newest
# /usr/lib/jvm/*/bin/java that is, else to the java on PATH if it is.
ds4j_find_java()
{
    local candidate major best="" best_major=0
    if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
        major="$(ds4j_java_major "$JAVA_HOME/bin/java")"
        if [ "$major" -ge 25 ]; then
            JAVA="$JAVA_HOME/bin/java"
            DS4J_JAVA_HOME="$JAVA_HOME"
            return 0
        fi
    fi
    for candidate in /usr/lib/jvm/*/bin/java; do
        [ -x "$candidate" ] || continue
        major="$(ds4j_java_major "$candidate")"
        if [ "$major" -ge 25 ] && [ "$major" -gt "$best_major" ]; then
            best="$candidate"
            best_major="$major"
        fi
    done
    if [ -z "$best" ] && command -v java > /dev/null 2>&1; then
        # last resort: a JDK 25+ on PATH (SDKMAN, a tarball), wherever it lives
        candidate="$(readlink -f "$(command -v java)")"
        if [ "$(ds4j_java_major "$candidate")" -ge 25 ]; then
            best="$candidate"
        fi
    fi
    if [ -z "$best" ]; then
        echo "ds4j needs a JDK 25 or newer; install one (e.g. Temurin 25) or set JAVA_HOME" >&2
        if [ -n "${JAVA_HOME:-}" ]; then
            echo "(JAVA_HOME=$JAVA_HOME is Java $(ds4j_java_major "$JAVA_HOME/bin/java"), and no JDK 25+ is" \
                "under /usr/lib/jvm)" >&2
        fi
        return 1
    fi
    JAVA="$best"
    DS4J_JAVA_HOME="$(dirname "$(dirname "$best")")"
}

# ds4j_build_if_stale MODULE JAR SOURCE_MODULE...: runs `mvn -pl MODULE -am package` when JAR or MODULE/target/lib
# is missing, or a pom.xml or src/main file of a SOURCE_MODULE (the module and what it depends on) is newer than JAR.
ds4j_build_if_stale()
{
    local module="$1" jar="$2"
    shift 2
    local stale="" dirs=("$DS4J_ROOT/pom.xml") m
    for m in "$@"; do
        [ -d "$DS4J_ROOT/$m/src/main" ] && dirs+=("$DS4J_ROOT/$m/src/main")
        [ -f "$DS4J_ROOT/$m/pom.xml" ] && dirs+=("$DS4J_ROOT/$m/pom.xml")
    done
    if [ ! -f "$jar" ] || [ ! -d "$DS4J_ROOT/$module/target/lib" ]; then
        stale=yes
    elif [ -n "$(find "${dirs[@]}" -newer "$jar" -type f -print -quit 2>/dev/null)" ]; then
        stale=yes
    fi
    [ -z "$stale" ] && return 0
    if ! command -v mvn > /dev/null 2>&1; then
        echo "ds4j must be built first, and that needs Maven: install Maven 3.8+ (mvn on PATH), or build it" \
            "elsewhere with: mvn -DskipTests -pl $module -am package" >&2
        return 1
    fi
    mkdir -p "$DS4J_ROOT/$module/target"
    (
        # one build at a time when several commands start at once; the later one finds the jar fresh
        if command -v flock > /dev/null 2>&1; then
            exec 9> "$DS4J_ROOT/$module/target/.ds4j-build.lock"
            flock 9
            if [ -f "$jar" ] && [ -d "$DS4J_ROOT/$module/target/lib" ] \
                && [ -z "$(find "${dirs[@]}" -newer "$jar" -type f -print -quit 2>/dev/null)" ]; then
                exit 0
            fi
        fi
        if [ -f "$jar" ]; then
            echo "rebuilding ds4j (sources changed)..." >&2
        else
            echo "building ds4j (first run)..." >&2
        fi
        cd "$DS4J_ROOT" || exit 1
        # Maven 3.8 prints bare colour resets even with -B; drop them, keep the exit status
        JAVA_HOME="$DS4J_JAVA_HOME" MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" \
            mvn -q -B -Dstyle.color=never -DskipTests -pl "$module" -am package 2>&1 \
            | sed -e 's/\x1b\[0m//g' -e '/^$/d' >&2
        if [ "${PIPESTATUS[0]}" -ne 0 ]; then
            echo "building ds4j failed (see the Maven output above); fix it, or build by hand with:" \
                "cd $DS4J_ROOT && mvn -DskipTests -pl $module -am package" >&2
            exit 1
        fi
        # the jar plugin keeps an unchanged jar's old time stamp; touch it so the next run does not rebuild
        touch "$jar"
    )
}

ds4j_resolve_root
