package io.ds4j.benchmarks;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real ds4j worker process ({@code io.ds4j.worker.WorkerMain}) spawned from this JVM's own class path and java, on
 * a loopback port, with every file it writes (logs, probes, Unix socket) in a private temporary folder. It is the
 * same command line {@code dscli start -w} builds. {@link #close()} sends SIGTERM, waits, then SIGKILL, and removes
 * the folder and any segment file a killed worker left in /dev/shm.
 */
public final class WorkerProcess implements AutoCloseable
{
    private static final String MAIN_CLASS = "io.ds4j.worker.WorkerMain";

    private final Process process;
    private final int port;
    private final Path home;
    private boolean closed;
    private final List<String> command;

    private WorkerProcess(final Process process, final int port, final Path home, final List<String> command)
    {
        this.process = process;
        this.port = port;
        this.home = home;
        this.command = command;
    }

    /**
     * Starts a worker and waits (up to {@code startTimeoutMs}) for its ready file.
     *
     * @param extraJvmArgs JVM options for the worker (none by default, exactly like dscli)
     * @param extraFlags   further worker flags, {@code --name=value}
     */
    public static WorkerProcess start(final int poolMb, final List<String> extraJvmArgs, final List<String> extraFlags,
        final long startTimeoutMs) throws IOException
    {
        final int port = Ports.free();
        // short: the Unix socket path must fit in 107 bytes
        final Path home = Files.createTempDirectory(Path.of("/tmp"), "dsb-");
        final List<String> command = new ArrayList<>();
        command.add(Jvm.javaExecutable());
        command.add("--enable-native-access=ALL-UNNAMED");
        command.addAll(extraJvmArgs);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(MAIN_CLASS);
        command.add("--worker_address=127.0.0.1:" + port);
        command.add("--shared_memory_size_mb=" + poolMb);
        command.add("--log_dir=" + home.resolve("logs"));
        command.add("--unix_domain_socket_dir=" + home.resolve("uds"));
        command.add("--ready_check_path=" + home.resolve("probe/ready"));
        command.add("--health_check_path=" + home.resolve("probe/healthy"));
        command.addAll(extraFlags);
        final Process process = new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(home.resolve("worker.out").toFile())
            .start();
        final WorkerProcess worker = new WorkerProcess(process, port, home, command);
        Children.register(worker::close);
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(startTimeoutMs);
        final Path ready = home.resolve("probe/ready");
        while (!Files.exists(ready))
        {
            if (!process.isAlive())
            {
                final String out = worker.output();
                worker.close();
                throw new IOException("worker exited with status " + process.exitValue() + " before it was ready: "
                    + out.strip());
            }
            if (System.nanoTime() > deadline)
            {
                final String out = worker.output();
                worker.close();
                throw new IOException("worker was not ready within " + startTimeoutMs + " ms: " + out.strip());
            }
            sleep(20);
        }
        return worker;
    }

    private String output()
    {
        try
        {
            return Files.readString(home.resolve("worker.out"));
        }
        catch (final IOException e)
        {
            return "(no output: " + e.getMessage() + ")";
        }
    }

    public int port()
    {
        return port;
    }

    public long pid()
    {
        return process.pid();
    }

    public List<String> command()
    {
        return command;
    }

    public boolean isAlive()
    {
        return process.isAlive();
    }

    /** The worker's memory figures from /proc/PID/status, in bytes. */
    public ProcStatus status() throws IOException
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
        if (process.isAlive())
        {
            process.destroy();
            try
            {
                if (!process.waitFor(10, TimeUnit.SECONDS))
                {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            }
            catch (final InterruptedException e)
            {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        // a worker that had to be killed leaves its segment file behind
        try (DirectoryStream<Path> stale = Files.newDirectoryStream(Path.of("/dev/shm"), "ds4j-127.0.0.1_" + port + "-*"))
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
        deleteTree(home);
    }

    static void deleteTree(final Path root)
    {
        if (!Files.exists(root))
        {
            return;
        }
        try (Stream<Path> walk = Files.walk(root))
        {
            walk.sorted(Comparator.reverseOrder()).forEach(path ->
            {
                try
                {
                    Files.deleteIfExists(path);
                }
                catch (final IOException ignored)
                {
                    // best effort: a temp folder left behind is harmless
                }
            });
        }
        catch (final IOException ignored)
        {
            // best effort
        }
    }

    static void sleep(final long ms)
    {
        try
        {
            Thread.sleep(ms);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
