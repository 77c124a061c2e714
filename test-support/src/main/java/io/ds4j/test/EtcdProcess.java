package io.ds4j.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A real single-member etcd ({@code /usr/bin/etcd}, Debian's {@code etcd-server}) for tests, on two free loopback
 * ports (client and peer) with a data directory under /tmp. {@link #close()} stops it and deletes the directory; a
 * shutdown hook kills any left running when the test JVM exits.
 *
 * <pre>{@code
 * try (EtcdProcess etcd = EtcdProcess.start())
 * {
 *     ClusterMembership.join(EtcdSettings.of(etcd.endpoint(), "", "", ""), ...);
 * }
 * }</pre>
 */
public final class EtcdProcess implements AutoCloseable
{
    /** Where Debian's etcd-server installs the server. */
    public static final Path ETCD = Path.of("/usr/bin/etcd");

    /** How long {@link #start} and the restarts wait for etcd to serve. */
    public static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    /** How long {@link #stop} waits after SIGTERM before it kills. */
    public static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

    private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();

    static
    {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(Process::destroyForcibly),
            "ds4j-etcd-reaper"));
    }

    private final int clientPort;
    private final int peerPort;
    private final Path home;
    private Process process;
    private boolean closed;

    private final String host;
    private EtcdProcess(final String host, final int clientPort, final int peerPort, final Path home)
    {
        this.host = host;
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        this.home = home;
    }

    /**
     * Starts etcd and waits until it serves. Fails the test, with the end of etcd's log, if it does not within
     * {@link #START_TIMEOUT}, or if {@code /usr/bin/etcd} is not installed.
     */
    public static EtcdProcess start()
    {
        return start("127.0.0.1");
    }

    /** {@link #start()} listening on {@code host} (an address of this machine) instead of the loopback one. */
    public static EtcdProcess start(final String host)
    {
        if (!Files.isExecutable(ETCD))
        {
            fail(ETCD + " is missing: install etcd-server (apt-get install etcd-server); bin/run-tests does that when"
                + " run as root");
        }
        final Path home;
        try
        {
            home = Files.createTempDirectory(Path.of("/tmp"), "ds4j-etcd-");
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot make an etcd data directory under /tmp", e);
        }
        final int[] ports = FreePorts.next(2);
        final EtcdProcess etcd = new EtcdProcess(host, ports[0], ports[1], home);
        try
        {
            etcd.launch();
        }
        catch (final RuntimeException | Error e)
        {
            etcd.deleteHome();
            throw e;
        }
        return etcd;
    }

    /** {@code <host>:<client port>} (the host is 127.0.0.1 unless started on another), as {@code --etcd_address} takes it. */
    public String endpoint()
    {
        return host + ":" + clientPort;
    }

    /** {@code http://<host>:<client port>}. */
    public String url()
    {
        return "http://" + endpoint();
    }

    public int clientPort()
    {
        return clientPort;
    }

    public int peerPort()
    {
        return peerPort;
    }

    /** etcd's data directory (the same across {@link #restart()}, emptied by {@link #restartEmpty()}). */
    public Path dataDir()
    {
        return home.resolve("data");
    }

    /** etcd's stdout and stderr, over all its runs. */
    public Path logFile()
    {
        return home.resolve("etcd.log");
    }

    public synchronized boolean isAlive()
    {
        return process != null && process.isAlive();
    }

    /** The pid of the current (or last) etcd process. */
    public synchronized long pid()
    {
        return process.pid();
    }

    /** The last {@code n} lines of etcd's log. */
    public List<String> logTail(final int n)
    {
        if (!Files.exists(logFile()))
        {
            return List.of();
        }
        try
        {
            final List<String> lines = Files.readAllLines(logFile(), StandardCharsets.UTF_8);
            return new ArrayList<>(lines.subList(Math.max(0, lines.size() - n), lines.size()));
        }
        catch (final IOException e)
        {
            return List.of("(cannot read " + logFile() + ": " + e.getMessage() + ")");
        }
    }

    /** SIGTERM and wait for etcd to exit ({@link #STOP_TIMEOUT}, then SIGKILL). Does nothing if it is not running. */
    public synchronized void stop()
    {
        if (!isAlive())
        {
            return;
        }
        process.destroy();
        if (!waitFor(process, STOP_TIMEOUT))
        {
            process.destroyForcibly();
            waitFor(process, STOP_TIMEOUT);
        }
        RUNNING.remove(process);
    }

    /** SIGKILL, as a crash would. Waits until the process is gone. */
    public synchronized void kill()
    {
        if (!isAlive())
        {
            return;
        }
        process.destroyForcibly();
        waitFor(process, STOP_TIMEOUT);
        RUNNING.remove(process);
    }

    /** Starts etcd again after {@link #stop} or {@link #kill}, on the same ports with the same data. */
    public synchronized void startAgain()
    {
        if (!isAlive())
        {
            launch();
        }
    }

    /** Stops etcd if it runs and starts it again on the same ports with the same data. */
    public synchronized void restart()
    {
        stop();
        launch();
    }

    /** Stops etcd if it runs, wipes its data, and starts it again on the same ports: an etcd that lost everything. */
    public synchronized void restartEmpty()
    {
        stop();
        deleteTree(dataDir());
        launch();
    }

    /** Stops etcd and deletes its directory. */
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
            stop();
        }
        finally
        {
            deleteHome();
        }
    }

    @Override
    public String toString()
    {
        return "EtcdProcess[" + endpoint() + (process == null ? "" : ", pid " + process.pid()) + ", " + home + "]";
    }

    private List<String> command()
    {
        final String client = "http://" + host + ":" + clientPort;
        final String peer = "http://" + host + ":" + peerPort;
        return List.of(ETCD.toString(),
            "--name", "default",
            "--data-dir", dataDir().toString(),
            "--listen-client-urls", client,
            "--advertise-client-urls", client,
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "default=" + peer,
            "--initial-cluster-state", "new");
    }

    private synchronized void launch()
    {
        if (closed)
        {
            throw new IllegalStateException(this + " is closed");
        }
        final List<String> command = command();
        try
        {
            Files.writeString(logFile(), "=== " + String.join(" ", command) + System.lineSeparator(),
                StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND);
            process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot start " + ETCD + ": " + e.getMessage(), e);
        }
        RUNNING.add(process);
        final String problem = awaitServing();
        if (problem != null)
        {
            kill();
            final String nl = System.lineSeparator();
            fail("etcd on " + endpoint() + " failed to start: " + problem + nl + "command: "
                + String.join(" ", command) + nl + "etcd log (last 40 lines):" + nl + String.join(nl, logTail(40)));
        }
    }

    /** Null once etcd answers {@code /health} with "true", else why it did not. */
    private String awaitServing()
    {
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build())
        {
            return awaitServing(http);
        }
    }

    private String awaitServing(final HttpClient http)
    {
        final HttpRequest request = HttpRequest.newBuilder(URI.create(url() + "/health"))
            .timeout(Duration.ofSeconds(1)).GET().build();
        final long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String last = "no answer";
        while (System.nanoTime() - deadline < 0)
        {
            if (!process.isAlive())
            {
                return "etcd exited with code " + process.exitValue();
            }
            try
            {
                final HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200 && response.body().replace(" ", "").contains("\"health\":\"true\""))
                {
                    return null;
                }
                last = "/health answered " + response.statusCode() + " " + response.body();
            }
            catch (final IOException e)
            {
                last = "/health: " + e.getMessage();
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
                return "interrupted";
            }
            try
            {
                Thread.sleep(50);
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
                return "interrupted";
            }
        }
        return "not serving within " + START_TIMEOUT.toSeconds() + " s (" + last + ")";
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

    private void deleteHome()
    {
        deleteTree(home);
    }

    private static void deleteTree(final Path root)
    {
        if (!Files.exists(root))
        {
            return;
        }
        try (Stream<Path> paths = Files.walk(root))
        {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList())
            {
                Files.deleteIfExists(path);
            }
        }
        catch (final IOException e)
        {
            // a leftover temp directory must not fail the test that used etcd
        }
    }
}
