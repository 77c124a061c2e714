package io.ds4j.test;

import io.ds4j.cli.WorkerLauncher;
import io.ds4j.worker.Worker;
import io.ds4j.worker.config.HostPort;
import io.ds4j.worker.store.SharedPool;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A real worker process for integration tests, started through {@link WorkerLauncher} exactly as {@code dscli start}
 * starts one: on a free loopback port, with its own home directory under /tmp (short, so the Unix socket path stays
 * under the 108-byte sun_path limit) holding its socket, logs and probe files, and a 64 MiB pool unless a flag says
 * otherwise. {@link #close()} stops it and deletes the home directory; a shutdown hook kills any still running when the
 * test JVM exits.
 *
 * <pre>{@code
 * try (WorkerProcess worker = WorkerProcess.start(Map.of("max_client_num", "4")))
 * {
 *     connect(worker.address());
 * }
 * }</pre>
 */
public final class WorkerProcess implements AutoCloseable
{
    /** How long {@link #start} and {@link #restart} wait for the ready file. */
    public static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    /** How long {@link #stop} waits after SIGTERM before it kills. */
    public static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

    /** Workers of this JVM still running: killed when the JVM exits, so a test JVM that dies leaves none behind. */
    private static final java.util.Set<Process> RUNNING = java.util.concurrent.ConcurrentHashMap.newKeySet();

    static
    {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(Process::destroyForcibly),
            "ds4j-worker-reaper"));
    }

    private final Path homeDir;
    /** What runs in front of the worker's command (nothing, or e.g. {@code ip netns exec NAME}). */
    private List<String> commandPrefix = List.of();
    private final Map<String, String> requestedFlags;
    private final HostPort address;
    private WorkerLauncher.Spawned spawned;
    private boolean closed;

    private WorkerProcess(final Path homeDir, final Map<String, String> requestedFlags)
    {
        this.homeDir = homeDir;
        this.requestedFlags = requestedFlags;
        this.address = HostPort.parse(requestedFlags.get("worker_address"));
    }

    /** A worker with the test defaults. */
    public static WorkerProcess start()
    {
        return start(Map.of());
    }

    /** A worker with the test defaults overridden by {@code name, value} pairs. */
    public static WorkerProcess start(final String... nameValuePairs)
    {
        if (nameValuePairs.length % 2 != 0)
        {
            throw new IllegalArgumentException("flags come in name, value pairs");
        }
        final Map<String, String> flags = new LinkedHashMap<>();
        for (int i = 0; i < nameValuePairs.length; i += 2)
        {
            flags.put(nameValuePairs[i], nameValuePairs[i + 1]);
        }
        return start(flags);
    }

    /**
     * A worker with the test defaults overridden by {@code extraFlags} (flag name without dashes to value; relative
     * paths resolve against the home directory). Fails the test, with the worker's output, if it does not become
     * ready within {@link #READY_TIMEOUT}.
     */
    public static WorkerProcess start(final Map<String, String> extraFlags)
    {
        return start(extraFlags, List.of());
    }

    /**
     * {@link #start(Map)} with {@code prefix} in front of the worker's command, a program that execs the rest in
     * place, e.g. {@code ip netns exec NAME} to run the worker in a network namespace.
     */
    public static WorkerProcess start(final Map<String, String> extraFlags, final List<String> prefix)
    {
        final Path home;
        try
        {
            home = Files.createTempDirectory(Path.of("/tmp"), "ds4j-test-");
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot make a worker home directory under /tmp", e);
        }
        final Map<String, String> flags = new LinkedHashMap<>();
        flags.put("worker_address", "127.0.0.1:" + FreePorts.next());
        flags.put("shared_memory_size_mb", "64");
        flags.put("unix_domain_socket_dir", home.resolve("uds").toString());
        flags.put("log_dir", home.resolve("logs").toString());
        flags.put("health_check_path", home.resolve("probe/healthy").toString());
        flags.put("ready_check_path", home.resolve("probe/ready").toString());
        flags.putAll(extraFlags);
        final WorkerProcess worker = new WorkerProcess(home, flags);
        worker.commandPrefix = List.copyOf(prefix);
        try
        {
            worker.launch();
        }
        catch (final RuntimeException | Error e)
        {
            worker.deleteHome();
            throw e;
        }
        return worker;
    }

    /**
     * Several workers started at the same moment, each with the test defaults overridden by its own flags (a cluster
     * passes {@code etcd_address} and {@code cluster_name} this way), in the order given. Each gets its own free port
     * and home directory. If any fails to start, the others are closed and the first failure is thrown.
     */
    public static List<WorkerProcess> startAll(final List<Map<String, String>> flagsOfEach)
    {
        return startAll(flagsOfEach, java.util.Collections.nCopies(flagsOfEach.size(), List.of()));
    }

    /** {@link #startAll(List)}, worker i with {@code prefixOfEach.get(i)} in front of its command. */
    public static List<WorkerProcess> startAll(final List<Map<String, String>> flagsOfEach,
        final List<List<String>> prefixOfEach)
    {
        final ExecutorService starters = Executors.newFixedThreadPool(Math.max(1, flagsOfEach.size()), runnable ->
            Thread.ofPlatform().daemon().name("ds4j-test-worker-start").unstarted(runnable));
        final List<Future<WorkerProcess>> starts = new ArrayList<>();
        try
        {
            for (int i = 0; i < flagsOfEach.size(); i++)
            {
                final Map<String, String> flags = flagsOfEach.get(i);
                final List<String> prefix = prefixOfEach.get(i);
                starts.add(starters.submit(() -> start(flags, prefix)));
            }
            final List<WorkerProcess> started = new ArrayList<>();
            Throwable failure = null;
            for (final Future<WorkerProcess> start : starts)
            {
                try
                {
                    started.add(start.get());
                }
                catch (final ExecutionException e)
                {
                    failure = failure == null ? e.getCause() : failure;
                }
                catch (final InterruptedException e)
                {
                    Thread.currentThread().interrupt();
                    failure = failure == null ? e : failure;
                }
            }
            if (failure != null)
            {
                started.forEach(WorkerProcess::close);
                if (failure instanceof RuntimeException runtime)
                {
                    throw runtime;
                }
                if (failure instanceof Error error)
                {
                    throw error;
                }
                throw new IllegalStateException("starting workers failed", failure);
            }
            return started;
        }
        finally
        {
            starters.shutdownNow();
        }
    }

    public String host()
    {
        return address.host();
    }

    public int port()
    {
        return address.port();
    }

    /** {@code host:port}, the worker's {@code --worker_address}. */
    public String address()
    {
        return address.toString();
    }

    /** The pid of the current (or last) worker process. */
    public long pid()
    {
        return spawned.pid();
    }

    public Path homeDir()
    {
        return homeDir;
    }

    /** Every flag the worker runs with, paths absolute. */
    public Map<String, String> flags()
    {
        return spawned.flags();
    }

    /** The directory of the worker's Unix domain socket. */
    public Path udsDir()
    {
        return Path.of(spawned.flags().get("unix_domain_socket_dir"));
    }

    /** The worker process, e.g. for its exit value after {@link #stop()}. */
    public Process process()
    {
        return spawned.process();
    }

    public boolean isAlive()
    {
        return spawned != null && spawned.process().isAlive();
    }

    /** The last {@code n} lines of the worker's log ({@code log_dir/worker.log}). */
    public List<String> logTail(final int n)
    {
        return tail(spawned.logFile(), n);
    }

    /** The last {@code n} lines of the worker's stdout and stderr ({@code log_dir/worker.out}) over all runs. */
    public List<String> outTail(final int n)
    {
        return tail(spawned.outFile(), n);
    }

    /** SIGKILL, as a crash would: the worker cleans nothing up. Waits until the process is gone. */
    public void kill9()
    {
        final Process process = spawned.process();
        process.destroyForcibly();
        waitFor(process, Duration.ofSeconds(10));
    }

    /** SIGSTOP: the worker freezes as a long GC pause or a stuck VM would; its lease runs out meanwhile. */
    public void pause()
    {
        signal("STOP");
    }

    /** SIGCONT after {@link #pause}. */
    public void resume()
    {
        signal("CONT");
    }

    private void signal(final String name)
    {
        try
        {
            final Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid())).inheritIO().start();
            if (kill.waitFor() != 0)
            {
                throw new IllegalStateException("kill -" + name + " " + pid() + " failed");
            }
        }
        catch (final java.io.IOException e)
        {
            throw new java.io.UncheckedIOException(e);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** SIGTERM and wait for a clean exit ({@link #STOP_TIMEOUT}, then SIGKILL). Does nothing if not running. */
    public void stop()
    {
        final Process process = spawned.process();
        if (!process.isAlive())
        {
            return;
        }
        process.destroy();
        if (!waitFor(process, STOP_TIMEOUT))
        {
            process.destroyForcibly();
            waitFor(process, Duration.ofSeconds(10));
        }
    }

    /** Stops the worker if it runs and starts it again with the same flags, so on the same port and home. */
    public void restart()
    {
        stop();
        launch();
    }

    /** Stops the worker, deletes its home directory and any pool segment a killed run of it left in /dev/shm. */
    @Override
    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        try
        {
            if (spawned != null)
            {
                stop();
            }
        }
        finally
        {
            deleteHome();
            SharedPool.removeStaleSegments(Worker.SHM_DIR, address.host(), address.port());
        }
    }

    @Override
    public String toString()
    {
        return "WorkerProcess[" + address + (spawned == null ? "" : ", pid " + spawned.pid()) + ", " + homeDir + "]";
    }

    private void launch()
    {
        if (closed)
        {
            throw new IllegalStateException(this + " is closed");
        }
        final WorkerLauncher.Outcome outcome;
        try
        {
            spawned = WorkerLauncher.spawn(requestedFlags, homeDir, WorkerLauncher.defaultClasspath(),
                WorkerLauncher.defaultJava(), commandPrefix);
            RUNNING.removeIf(process -> !process.isAlive());
            RUNNING.add(spawned.process());
            outcome = WorkerLauncher.awaitReady(spawned, READY_TIMEOUT, null);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot start a worker @ " + address + ": " + e.getMessage(), e);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            if (spawned != null)
            {
                kill9();
            }
            throw new IllegalStateException("interrupted while starting a worker @ " + address, e);
        }
        if (outcome == WorkerLauncher.Outcome.READY)
        {
            return;
        }
        final String reason = outcome == WorkerLauncher.Outcome.TIMED_OUT
            ? "not ready within " + READY_TIMEOUT.toSeconds() + " s" : spawned.failureReason();
        if (spawned.process().isAlive())
        {
            kill9();
        }
        final String nl = System.lineSeparator();
        fail("worker @ " + address + " failed to start: " + reason + nl
            + "command: " + String.join(" ", spawned.command()) + nl
            + "worker.out (last 40 lines):" + nl + String.join(nl, spawned.outTail(40)) + nl
            + "worker.log (last 40 lines):" + nl + String.join(nl, tail(spawned.logFile(), 40)));
    }

    private static boolean waitFor(final Process process, final Duration timeout)
    {
        try
        {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            return false;
        }
    }

    private static List<String> tail(final Path file, final int n)
    {
        if (!Files.exists(file))
        {
            return List.of();
        }
        try
        {
            final List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            return new ArrayList<>(lines.subList(Math.max(0, lines.size() - n), lines.size()));
        }
        catch (final IOException e)
        {
            return List.of("(cannot read " + file + ": " + e.getMessage() + ")");
        }
    }

    private void deleteHome()
    {
        if (!Files.exists(homeDir))
        {
            return;
        }
        try (Stream<Path> paths = Files.walk(homeDir))
        {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList())
            {
                Files.deleteIfExists(path);
            }
        }
        catch (final IOException e)
        {
            // a leftover temp directory must not fail the test that used the worker
        }
    }
}
