package io.ds4j.cli;

import io.ds4j.worker.config.WorkerFlag;
import io.ds4j.worker.config.WorkerFlags;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The one place that builds a worker's command line and spawns it, waits for it to be ready, finds a running worker
 * by its address and stops it. {@code dscli start}/{@code stop} and the test-support {@code WorkerProcess} both go
 * through here, so tests start workers exactly the way users do.
 */
public final class WorkerLauncher
{
    /** The worker's main class, also how {@link #findWorkers} recognizes a worker process. */
    public static final String MAIN_CLASS = io.ds4j.worker.WorkerMain.class.getName();

    /** The line a worker prints to stderr when it cannot start. */
    public static final String FAILURE_MARKER = io.ds4j.worker.WorkerMain.START_FAILURE_PREFIX.strip();

    /** The file under {@code log_dir} that receives the worker's stdout and stderr. */
    public static final String OUT_FILE = "worker.out";

    private static final String SETSID = "/usr/bin/setsid";
    private static final long POLL_MILLIS = 100;

    private WorkerLauncher()
    {
    }

    /** How waiting for a worker ended. */
    public enum Outcome
    {
        /** The worker created its ready file and is still alive. */
        READY,
        /** The worker exited before it was ready. */
        EXITED,
        /** The worker was neither ready nor gone when the time ran out (it is left running). */
        TIMED_OUT
    }

    /**
     * A spawned worker.
     *
     * @param process   the worker process (its pid is the worker's: setsid execs in place, it does not fork here)
     * @param flags     every flag, with paths absolute, as passed to the worker
     * @param command   the full command line
     * @param outFile   the file receiving the worker's stdout and stderr
     * @param outOffset the size {@code outFile} had before the spawn, so only this run's output is read back
     * @param startedAt when it was spawned, so a worker.log left by an earlier run is not shown as this one's
     */
    public record Spawned(Process process, Map<String, String> flags, List<String> command, Path outFile,
        long outOffset, Instant startedAt)
    {
        public long pid()
        {
            return process.pid();
        }

        public String address()
        {
            return flags.get("worker_address");
        }

        public Path readyFile()
        {
            return Path.of(flags.get("ready_check_path"));
        }

        public Path logDir()
        {
            return Path.of(flags.get("log_dir"));
        }

        /** The worker's own log file (the worker writes it; it may not exist if the worker failed early). */
        public Path logFile()
        {
            return logDir().resolve("worker.log");
        }

        /** The last {@code n} lines this run wrote to {@link #outFile}. */
        public List<String> outTail(final int n)
        {
            return tail(readFrom(outFile, outOffset), n);
        }

        /**
         * Why the worker failed to start: the text after {@link #FAILURE_MARKER} if it printed one, else the last
         * 20 lines of its output, else its exit code.
         */
        public String failureReason()
        {
            final List<String> lines = readFrom(outFile, outOffset);
            for (int i = lines.size() - 1; i >= 0; i--)
            {
                final int at = lines.get(i).indexOf(FAILURE_MARKER);
                if (at >= 0)
                {
                    return lines.get(i).substring(at + FAILURE_MARKER.length()).trim();
                }
            }
            final String exit = process.isAlive() ? "the worker did not become ready"
                : "the worker exited with code " + process.exitValue();
            final List<String> last = tail(lines, 20);
            if (!last.isEmpty())
            {
                return exit + "; its last output:" + System.lineSeparator()
                    + String.join(System.lineSeparator(), last);
            }
            final List<String> log = logWrittenSince(logFile(), startedAt);
            return log.isEmpty() ? exit + " and printed nothing"
                : exit + "; the end of " + logFile() + ":" + System.lineSeparator()
                    + String.join(System.lineSeparator(), tail(log, 20));
        }
    }

    /** Extra JVM options for the worker (heap size, GC), split on whitespace, e.g. {@code -Xmx4g -XX:+UseZGC}. */
    public static final String JVM_OPTIONS_ENV = "DS4J_WORKER_JVM_OPTS";

    /**
     * The JVM options every worker gets, before those of {@link #JVM_OPTIONS_ENV} (which win, being later). A worker's
     * heap is mostly its per-key records, long-lived and small, beside short-lived request buffers; these keep it
     * close to what is live (docs/benchmarks.md, "Memory per key"):
     * <ul>
     * <li>{@code -XX:+UseCompactObjectHeaders}: 8-byte object headers (a product feature since JDK 25), 4 bytes less
     * per object and often 8 after alignment: about 56 B per key of the worker's records at 1M keys;</li>
     * <li>{@code -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30}: G1 keeps at most 30% of the heap free after a full
     * collection or a concurrent cycle instead of 70%, and gives the rest back to the system;</li>
     * <li>{@code -XX:G1PeriodicGCInterval=60000}: a worker idle for a minute runs a concurrent cycle, so memory the
     * last burst of requests made the heap grow by is returned without waiting for the next collection.</li>
     * </ul>
     * No {@code -Xmx}: the heap grows with the number of keys, and a fixed bound would turn a full heap into an
     * OutOfMemoryError instead of the pool's OUT_OF_MEMORY; the default maximum (a quarter of the machine's memory)
     * stays.
     */
    public static final List<String> DEFAULT_JVM_OPTIONS = List.of("-XX:+UseCompactObjectHeaders",
        "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=30", "-XX:G1PeriodicGCInterval=60000");

    static List<String> jvmOptions(final String value)
    {
        return value == null || value.isBlank() ? List.of() : List.of(value.trim().split("\\s+"));
    }

    /** The worker runs in its home directory, so a relative class path entry would no longer resolve. */
    static String absoluteClasspath(final String classpath)
    {
        final StringBuilder absolute = new StringBuilder();
        for (final String entry : classpath.split(java.io.File.pathSeparator))
        {
            if (entry.isEmpty())
            {
                continue;
            }
            if (!absolute.isEmpty())
            {
                absolute.append(java.io.File.pathSeparatorChar);
            }
            // keep a trailing "*" wildcard: the JVM expands it, Path would not
            absolute.append(entry.endsWith("*") ? Path.of(entry.substring(0, entry.length() - 1)).toAbsolutePath()
                + java.io.File.separator + "*" : Path.of(entry).toAbsolutePath().toString());
        }
        return absolute.toString();
    }

    /** The class path of this JVM, which holds the worker's classes wherever dscli or a test runs. */
    public static String defaultClasspath()
    {
        return System.getProperty("java.class.path");
    }

    /** The java executable running this JVM (so the worker gets the same JDK 25), else {@code java.home}'s. */
    public static Path defaultJava()
    {
        return ProcessHandle.current().info().command().map(Path::of)
            .filter(Files::isExecutable)
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java"));
    }

    /**
     * Every flag over its default, checked against {@link WorkerFlags}, with relative paths resolved against
     * {@code homeDir} (the upstream resolves {@code ./} paths against {@code -d}).
     *
     * @throws IllegalArgumentException naming an unknown flag or a bad value
     */
    public static Map<String, String> resolve(final Map<String, String> flags, final Path homeDir)
    {
        final Path home = homeDir.toAbsolutePath().normalize();
        final Map<String, String> values = WorkerFlags.defaults();
        flags.forEach((name, value) ->
        {
            final WorkerFlag flag = WorkerFlags.find(name);
            if (flag == null)
            {
                // WorkerFlags.parse words the error (with a did-you-mean) the same way for every caller
                WorkerFlags.parse(List.of("--" + name + "=" + value));
                throw new IllegalArgumentException("unknown worker flag --" + name);
            }
            WorkerFlags.put(values, flag, value);
        });
        for (final WorkerFlag flag : WorkerFlags.all())
        {
            final String value = values.get(flag.name());
            if (flag.kind() == WorkerFlag.Kind.PATH && !value.isEmpty())
            {
                values.put(flag.name(), home.resolve(value).normalize().toString());
            }
        }
        return values;
    }

    /**
     * The worker's command line: {@code [setsid] java --enable-native-access=ALL-UNNAMED DEFAULT_JVM_OPTIONS
     * $DS4J_WORKER_JVM_OPTS -cp CP WorkerMain
     * --name=value ...}, one flag per non-default value plus {@code --worker_address}, which is always given because
     * {@code dscli stop} finds the process by it.
     */
    public static List<String> command(final Map<String, String> resolvedFlags, final String classpath,
        final Path java)
    {
        final List<String> command = new ArrayList<>();
        if (Files.isExecutable(Path.of(SETSID)))
        {
            // a new session: the worker outlives the terminal dscli ran in and gets none of its signals
            command.add(SETSID);
        }
        command.add(java.toString());
        command.add("--enable-native-access=ALL-UNNAMED");
        command.addAll(DEFAULT_JVM_OPTIONS);
        command.addAll(jvmOptions(System.getenv(JVM_OPTIONS_ENV)));
        command.add("-cp");
        command.add(absoluteClasspath(classpath));
        command.add(MAIN_CLASS);
        command.add("--worker_address=" + resolvedFlags.get("worker_address"));
        resolvedFlags.forEach((name, value) ->
        {
            final WorkerFlag flag = WorkerFlags.find(name);
            if (!name.equals("worker_address") && flag != null && !flag.defaultValue().equals(value))
            {
                command.add("--" + name + "=" + value);
            }
        });
        return command;
    }

    /** {@link #spawn(Map, Path, String, Path)} with this JVM's class path and java. */
    public static Spawned spawn(final Map<String, String> flags, final Path homeDir) throws IOException
    {
        return spawn(flags, homeDir, defaultClasspath(), defaultJava());
    }

    /**
     * Starts a worker detached from this process: working directory {@code homeDir}, stdin from /dev/null,
     * stdout and stderr appended to {@code <log_dir>/worker.out}. A stale ready file is removed first so that
     * {@link #awaitReady} only sees this worker's.
     *
     * @param flags   worker flags (any subset; the rest stay default); relative paths resolve against homeDir
     * @throws IllegalArgumentException naming an unknown flag or a bad value
     * @throws IOException              when the log directory cannot be made or the process cannot be started
     */
    public static Spawned spawn(final Map<String, String> flags, final Path homeDir, final String classpath,
        final Path java) throws IOException
    {
        return spawn(flags, homeDir, classpath, java, List.of());
    }

    /**
     * {@link #spawn(Map, Path, String, Path)} with {@code prefix} in front of the command, a program that execs the
     * rest in place, so the pid stays the worker's (tests run a worker in a network namespace with
     * {@code ip netns exec NAME}).
     */
    public static Spawned spawn(final Map<String, String> flags, final Path homeDir, final String classpath,
        final Path java, final List<String> prefix) throws IOException
    {
        final Path home = homeDir.toAbsolutePath().normalize();
        final Map<String, String> resolved = resolve(flags, home);
        final Path logDir = Path.of(resolved.get("log_dir"));
        Files.createDirectories(logDir);
        final Path readyFile = Path.of(resolved.get("ready_check_path"));
        Files.deleteIfExists(readyFile);
        final Path outFile = logDir.resolve(OUT_FILE);
        final long offset = Files.exists(outFile) ? Files.size(outFile) : 0;
        final List<String> command = new ArrayList<>(prefix);
        command.addAll(command(resolved, classpath, java));
        final ProcessBuilder builder = new ProcessBuilder(command)
            .directory(home.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .redirectOutput(ProcessBuilder.Redirect.appendTo(outFile.toFile()))
            .redirectErrorStream(true);
        // file times can be coarser than the clock; a second of slack still tells this run from an earlier one
        final Instant startedAt = Instant.now().minusSeconds(1);
        final Process process = builder.start();
        return new Spawned(process, resolved, List.copyOf(command), outFile, offset, startedAt);
    }

    /**
     * Polls every 100 ms until the worker's ready file exists, the worker exits, or {@code timeout} passes. Calls
     * {@code progress} with the time waited so far about every 5 s so callers can show that something is going on.
     * On a timeout the worker is left running: the caller decides whether to kill it.
     */
    public static Outcome awaitReady(final Spawned spawned, final Duration timeout,
        final Consumer<Duration> progress) throws InterruptedException
    {
        final long start = System.nanoTime();
        final long deadline = start + timeout.toNanos();
        long nextProgress = start + Duration.ofSeconds(5).toNanos();
        final Path readyFile = spawned.readyFile();
        while (true)
        {
            if (!spawned.process().isAlive())
            {
                return Outcome.EXITED;
            }
            if (Files.exists(readyFile))
            {
                // the worker removes the file when it shuts down, so ready-and-dead right now reads as EXITED
                return spawned.process().isAlive() ? Outcome.READY : Outcome.EXITED;
            }
            final long now = System.nanoTime();
            if (now - deadline >= 0)
            {
                return Outcome.TIMED_OUT;
            }
            if (now - nextProgress >= 0 && progress != null)
            {
                progress.accept(Duration.ofNanos(now - start));
                nextProgress = now + Duration.ofSeconds(5).toNanos();
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    /** The first running worker started with {@code --worker_address=address}, if any. */
    public static Optional<ProcessHandle> findWorker(final String address)
    {
        return findWorkers(address).stream().findFirst();
    }

    /** Every running worker process (of this user) started with {@code --worker_address=address}. */
    public static List<ProcessHandle> findWorkers(final String address)
    {
        final long self = ProcessHandle.current().pid();
        return ProcessHandle.allProcesses()
            .filter(handle -> handle.pid() != self)
            .filter(handle -> isWorkerFor(arguments(handle), address))
            .toList();
    }

    /** Whether a command line (program first or not) is a ds4j worker for {@code address}. */
    public static boolean isWorkerFor(final List<String> arguments, final String address)
    {
        if (!arguments.contains(MAIN_CLASS))
        {
            return false;
        }
        // gflags also takes one dash, so a hand-started worker is found as well
        return arguments.contains("--worker_address=" + address) || arguments.contains("-worker_address=" + address);
    }

    /**
     * Sends SIGTERM, waits up to {@code timeout} (calling {@code progress} about every 5 s), then SIGKILL.
     *
     * @return true when the process ended on SIGTERM, false when it had to be killed
     */
    public static boolean stop(final ProcessHandle handle, final Duration timeout, final Consumer<Duration> progress)
        throws InterruptedException
    {
        final long start = System.nanoTime();
        handle.destroy();
        final long deadline = start + timeout.toNanos();
        long nextProgress = start + Duration.ofSeconds(5).toNanos();
        while (handle.isAlive())
        {
            final long now = System.nanoTime();
            if (now - deadline >= 0)
            {
                handle.destroyForcibly();
                awaitExit(handle, Duration.ofSeconds(10));
                return false;
            }
            if (now - nextProgress >= 0 && progress != null)
            {
                progress.accept(Duration.ofNanos(now - start));
                nextProgress = now + Duration.ofSeconds(5).toNanos();
            }
            Thread.sleep(POLL_MILLIS);
        }
        return true;
    }

    /** SIGKILL and wait (up to 10 s) until the process is gone. */
    public static void kill(final ProcessHandle handle) throws InterruptedException
    {
        handle.destroyForcibly();
        awaitExit(handle, Duration.ofSeconds(10));
    }

    private static void awaitExit(final ProcessHandle handle, final Duration timeout) throws InterruptedException
    {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (handle.isAlive() && System.nanoTime() - deadline < 0)
        {
            Thread.sleep(POLL_MILLIS);
        }
    }

    /** The value a worker was started with for {@code flag} ({@code --flag=value} on its command line), if any. */
    public static Optional<String> flagOf(final List<String> arguments, final String flag)
    {
        final String prefix = "--" + flag + "=";
        return arguments.stream().filter(argument -> argument.startsWith(prefix))
            .map(argument -> argument.substring(prefix.length())).reduce((first, last) -> last);
    }

    /** The last line written to a log after {@code offset} that contains {@code marker} (among its last 64 KiB). */
    public static Optional<String> lastLineWith(final Path log, final long offset, final String marker)
    {
        final List<String> lines = readFrom(log, offset);
        for (int i = lines.size() - 1; i >= 0; i--)
        {
            if (lines.get(i).contains(marker))
            {
                return Optional.of(lines.get(i));
            }
        }
        return Optional.empty();
    }

    /** A process's whole command line, program first; empty when it cannot be read. */
    public static List<String> arguments(final ProcessHandle handle)
    {
        // /proc/<pid>/cmdline has every argument, NUL-separated; ProcessHandle.Info gives none (or a line cut at
        // 4096 characters) for a command line as long as a worker's class path makes it
        final Path cmdline = Path.of("/proc", Long.toString(handle.pid()), "cmdline");
        try
        {
            final byte[] bytes = java.nio.file.Files.readAllBytes(cmdline);
            if (bytes.length > 0)
            {
                return Arrays.asList(new String(bytes, java.nio.charset.StandardCharsets.UTF_8).split("\0"));
            }
        }
        catch (final IOException | SecurityException e)
        {
            // not Linux, or the process is gone or not ours to read: fall back to what the JDK reports
        }
        final ProcessHandle.Info info = handle.info();
        final Optional<String[]> arguments = info.arguments();
        if (arguments.isPresent())
        {
            return Arrays.asList(arguments.get());
        }
        // some processes report only a command line; splitting on spaces is enough to spot our two tokens
        return info.commandLine().map(line -> Arrays.asList(line.split(" "))).orElse(List.of());
    }

    private static List<String> readFrom(final Path file, final long offset)
    {
        try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r"))
        {
            final long length = in.length();
            final long from = offset <= length ? offset : 0;
            // the last 64 KiB hold any failure line; a chatty worker's output is not read whole
            final long start = Math.max(from, length - 64 * 1024);
            final byte[] bytes = new byte[(int) (length - start)];
            in.seek(start);
            in.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8).lines().toList();
        }
        catch (final IOException e)
        {
            return List.of();
        }
    }

    private static List<String> logWrittenSince(final Path file, final Instant since)
    {
        try
        {
            if (Files.exists(file) && Files.getLastModifiedTime(file).toInstant().isAfter(since))
            {
                return readFrom(file, 0);
            }
        }
        catch (final IOException e)
        {
            // no log to show: the caller says the worker printed nothing
        }
        return List.of();
    }

    private static List<String> tail(final List<String> lines, final int n)
    {
        return new ArrayList<>(lines.subList(Math.max(0, lines.size() - n), lines.size()));
    }
}
