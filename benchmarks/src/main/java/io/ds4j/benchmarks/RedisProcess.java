package io.ds4j.benchmarks;

import io.ds4j.test.FreePorts;
import redis.clients.jedis.Jedis;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A redis-server of this machine, started on a free loopback port with persistence off ({@code --save ''
 * --appendonly no}), for comparisons in the same run. {@link #find()} says whether one is installed.
 */
public final class RedisProcess implements AutoCloseable
{
    /** How to get one on Debian or Ubuntu. */
    public static final String INSTALL_HINT = "apt-get install -y redis-server";

    private final Process process;
    private final int port;
    private final Path home;
    private boolean closed;

    private RedisProcess(final Process process, final int port, final Path home)
    {
        this.process = process;
        this.port = port;
        this.home = home;
    }

    /** The redis-server executable: $DSBENCH_REDIS_SERVER, else the first on PATH, else /usr/bin or /usr/sbin; null if none. */
    public static Path find()
    {
        final String override = System.getenv("DSBENCH_REDIS_SERVER");
        if (override != null && !override.isEmpty())
        {
            final Path path = Path.of(override);
            return Files.isExecutable(path) ? path : null;
        }
        final String pathVariable = System.getenv().getOrDefault("PATH", "");
        for (final String dir : pathVariable.split(File.pathSeparator))
        {
            if (!dir.isEmpty())
            {
                final Path candidate = Path.of(dir, "redis-server");
                if (Files.isExecutable(candidate))
                {
                    return candidate;
                }
            }
        }
        for (final String dir : List.of("/usr/bin", "/usr/sbin", "/usr/local/bin"))
        {
            final Path candidate = Path.of(dir, "redis-server");
            if (Files.isExecutable(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /** {@code redis-server --version}, or a note why it is unknown. */
    public static String version(final Path executable)
    {
        try
        {
            final Process p = new ProcessBuilder(executable.toString(), "--version").redirectErrorStream(true).start();
            final byte[] out = p.getInputStream().readAllBytes();
            p.waitFor(5, TimeUnit.SECONDS);
            return new String(out, StandardCharsets.UTF_8).strip();
        }
        catch (final IOException e)
        {
            return "unknown (" + e.getMessage() + ")";
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    /** Starts redis-server on a free 127.0.0.1 port and waits up to {@code startTimeoutMs} for PONG. */
    public static RedisProcess start(final Path executable, final long startTimeoutMs) throws IOException
    {
        final int port = FreePorts.next();
        final Path home = Files.createTempDirectory(Path.of("/tmp"), "dsb-redis-");
        final Process process = new ProcessBuilder(executable.toString(),
            "--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", home.toString(), "--logfile", home.resolve("redis.log").toString())
            .redirectErrorStream(true)
            .redirectOutput(home.resolve("redis.out").toFile())
            .start();
        final RedisProcess redis = new RedisProcess(process, port, home);
        Children.register(redis::close);
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(startTimeoutMs);
        IOException last = null;
        while (System.nanoTime() < deadline)
        {
            if (!process.isAlive())
            {
                final String out = redis.output();
                redis.close();
                throw new IOException("redis-server exited with status " + process.exitValue() + ": " + out.strip());
            }
            try (Jedis jedis = new Jedis("127.0.0.1", port, 1000))
            {
                if ("PONG".equals(jedis.ping()))
                {
                    return redis;
                }
            }
            catch (final RuntimeException e)
            {
                last = new IOException(e.getMessage(), e);
            }
            try
            {
                Thread.sleep(20);
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
                redis.close();
                throw new IOException("interrupted while waiting for redis-server", e);
            }
        }
        redis.close();
        throw new IOException("redis-server did not answer PING within " + startTimeoutMs + " ms", last);
    }

    private String output()
    {
        try
        {
            final StringBuilder text = new StringBuilder(Files.readString(home.resolve("redis.out")));
            final Path log = home.resolve("redis.log");
            if (Files.exists(log))
            {
                text.append(Files.readString(log));
            }
            return text.toString();
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
        Dirs.deleteTree(home);
    }
}
