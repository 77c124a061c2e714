package io.ds4j.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A network namespace joined to the host by a veth pair (needs root and {@code ip netns}), for partition tests: a
 * worker started with {@link #prefix()} runs inside it at {@link #namespaceIp()}; etcd and the other workers listen on
 * {@link #hostIp()}, the host end. {@link #cut()} takes the host end down, which cuts the worker off from etcd and
 * from every peer; its clients on this host still reach it over its Unix socket. {@link #heal()} brings it back.
 */
public final class NetworkNamespace implements AutoCloseable
{
    private final String name;
    private final String hostEnd;
    private final String hostIp;
    private final String namespaceIp;

    private NetworkNamespace(final String tag)
    {
        this.name = "ds4j-net-" + tag;
        this.hostEnd = "d4h" + tag;
        final String subnet = "10.231." + Integer.parseInt(tag) % 250 + ".";
        this.hostIp = subnet + "1";
        this.namespaceIp = subnet + "2";
    }

    /**
     * Makes one; returns null and prints why when this machine does not allow it (not root, no {@code ip}, no
     * CAP_SYS_ADMIN), so the caller can skip with that reason.
     */
    public static NetworkNamespace createOrExplain()
    {
        final NetworkNamespace net = new NetworkNamespace(Integer.toString(ThreadLocalRandom.current()
            .nextInt(1000, 10000)));
        final String refused = run("ip", "netns", "add", net.name);
        if (refused != null)
        {
            System.out.println("network namespaces are not allowed here (ip netns add: " + refused + "); partition "
                + "tests need root and CAP_SYS_ADMIN");
            return null;
        }
        try
        {
            final String namespaceEnd = "d4n" + net.hostEnd.substring(3);
            must("ip", "link", "add", net.hostEnd, "type", "veth", "peer", "name", namespaceEnd);
            must("ip", "link", "set", namespaceEnd, "netns", net.name);
            must("ip", "addr", "add", net.hostIp + "/24", "dev", net.hostEnd);
            must("ip", "link", "set", net.hostEnd, "up");
            must("ip", "netns", "exec", net.name, "ip", "addr", "add", net.namespaceIp + "/24", "dev", namespaceEnd);
            must("ip", "netns", "exec", net.name, "ip", "link", "set", namespaceEnd, "up");
            must("ip", "netns", "exec", net.name, "ip", "link", "set", "lo", "up");
        }
        catch (final RuntimeException e)
        {
            net.close();
            throw e;
        }
        return net;
    }

    /** The host end's address: etcd and the workers outside the namespace listen there. */
    public String hostIp()
    {
        return hostIp;
    }

    /** The address of the worker inside the namespace. */
    public String namespaceIp()
    {
        return namespaceIp;
    }

    /** What runs a command inside the namespace ({@code ip netns exec NAME}), for {@code WorkerProcess}. */
    public List<String> prefix()
    {
        return List.of("ip", "netns", "exec", name);
    }

    /** Cuts the namespace off: the host end of the veth goes down. */
    public void cut()
    {
        must("ip", "link", "set", hostEnd, "down");
    }

    /** Joins it again. */
    public void heal()
    {
        must("ip", "link", "set", hostEnd, "up");
    }

    @Override
    public void close()
    {
        run("ip", "link", "del", hostEnd);
        run("ip", "netns", "del", name);
    }

    /** Runs a command; null when it succeeded, else its output. */
    private static String run(final String... command)
    {
        try
        {
            final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return process.waitFor() == 0 ? null : output.isEmpty() ? "exit " + process.exitValue() : output;
        }
        catch (final IOException e)
        {
            return e.getMessage();
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private static void must(final String... command)
    {
        final String failed = run(command);
        if (failed != null)
        {
            throw new UncheckedIOException(new IOException(String.join(" ", command) + ": " + failed));
        }
    }
}
