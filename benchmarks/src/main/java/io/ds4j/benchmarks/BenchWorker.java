package io.ds4j.benchmarks;

import io.ds4j.cli.WorkerLauncher;
import io.ds4j.test.WorkerProcess;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A real worker process for a benchmark: the test-support {@link WorkerProcess}, which starts it through
 * {@link WorkerLauncher} exactly as {@code dscli start} does (same command line, free loopback port, its own home
 * under /tmp, ready-file wait, SIGTERM then SIGKILL, home deleted). This class only adds what a benchmark run needs on
 * top: the stop is registered with {@link Children} (Ctrl-C and the watchdog stop the worker), a failed start is an
 * {@link IOException} rather than a JUnit assertion, and a worker that had to be killed does not leave its pool's
 * segment file in /dev/shm (the product removes such a file only when a worker starts again on the same address).
 */
final class BenchWorker implements AutoCloseable
{
    private final WorkerProcess process;
    private boolean closed;

    private BenchWorker(final WorkerProcess process)
    {
        this.process = process;
    }

    /**
     * Starts a worker with a pool of {@code poolMb} MiB and {@code flags} (flag name without dashes to value) over the
     * launcher's defaults, and waits until it is ready.
     */
    static BenchWorker start(final int poolMb, final Map<String, String> flags) throws IOException
    {
        absoluteClassPath();
        final Map<String, String> all = new LinkedHashMap<>();
        all.put("shared_memory_size_mb", Integer.toString(poolMb));
        all.putAll(flags);
        final WorkerProcess process;
        try
        {
            process = WorkerProcess.start(all);
        }
        catch (final AssertionError e)
        {
            // test-support reports a failed start with JUnit's fail(), its message naming the reason, the command
            // and the ends of worker.out and worker.log
            throw new IOException(e.getMessage());
        }
        catch (final UncheckedIOException e)
        {
            throw e.getCause();
        }
        final BenchWorker worker = new BenchWorker(process);
        Children.register(worker::close);
        return worker;
    }

    /**
     * Makes this JVM's {@code java.class.path} absolute, entry by entry. The launcher hands the worker this JVM's class
     * path as it is ({@link WorkerLauncher#defaultClasspath()}) but starts it in its home directory, so a relative
     * entry ({@code java -cp 'benchmarks/target/...'}, {@code java -jar benchmarks/target/ds4j-benchmarks.jar}) would
     * not be found there. Only the property changes; this JVM's class loader already has its class path.
     */
    private static synchronized void absoluteClassPath()
    {
        final String classPath = System.getProperty("java.class.path", "");
        final List<String> entries = new ArrayList<>();
        for (final String entry : classPath.split(File.pathSeparator))
        {
            entries.add(Path.of(entry).toAbsolutePath().normalize().toString());
        }
        System.setProperty("java.class.path", String.join(File.pathSeparator, entries));
    }

    int port()
    {
        return process.port();
    }

    long pid()
    {
        return process.pid();
    }

    Path homeDir()
    {
        return process.homeDir();
    }

    /** Every flag the worker runs with, paths absolute. */
    Map<String, String> flags()
    {
        return process.flags();
    }

    /** The worker's command line, rebuilt by the launcher from its flags (the same function spawned it). */
    List<String> command()
    {
        return WorkerLauncher.command(process.flags(), WorkerLauncher.defaultClasspath(),
            WorkerLauncher.defaultJava());
    }

    /** SIGKILL, as a crash would. */
    void kill9()
    {
        process.kill9();
    }

    /** SIGTERM, and waits until the worker has exited (a clean leave). */
    void stop()
    {
        process.stop();
    }

    /** The last {@code n} lines of the worker's log. */
    List<String> logTail(final int n)
    {
        return process.logTail(n);
    }

    /** The worker's memory figures from /proc/PID/status, in bytes. */
    ProcStatus status() throws IOException
    {
        return ProcStatus.read(process.pid());
    }

    @Override
    public void close()
    {
        synchronized (this)
        {
            if (closed)
            {
                return;
            }
            closed = true;
        }
        try
        {
            process.close();
        }
        finally
        {
            removeSegments();
        }
    }

    /** The segment files of this worker's address (Worker names them {@code ds4j-<host>_<port>-<generation>-0}). */
    private void removeSegments()
    {
        try (DirectoryStream<Path> stale = Files.newDirectoryStream(Path.of("/dev/shm"),
            "ds4j-" + process.host() + "_" + process.port() + "-*"))
        {
            for (final Path file : stale)
            {
                Files.deleteIfExists(file);
            }
        }
        catch (final IOException ignored)
        {
            // nothing left to clean, or no /dev/shm
        }
    }
}
