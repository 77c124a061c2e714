package io.ds4j.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Free TCP ports on loopback for tests. A port is free when handed out, not reserved: another process may take it
 * before the test binds it, so tests bind soon after. Within one JVM a port is never handed out twice, so tests
 * running in parallel do not collide with each other.
 */
public final class FreePorts
{
    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    private FreePorts()
    {
    }

    /** A port on 127.0.0.1 that nothing listens on right now. */
    public static int next()
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            final int port = probe();
            if (HANDED_OUT.add(port))
            {
                return port;
            }
        }
        throw new IllegalStateException("no free loopback port found in 100 tries");
    }

    /** {@code count} distinct free ports. */
    public static int[] next(final int count)
    {
        final int[] ports = new int[count];
        for (int i = 0; i < count; i++)
        {
            ports[i] = next();
        }
        return ports;
    }

    /** Whether something listens on 127.0.0.1:{@code port} (binding it fails). */
    public static boolean inUse(final int port)
    {
        try (ServerSocket socket = new ServerSocket())
        {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return false;
        }
        catch (final IOException e)
        {
            return true;
        }
    }

    private static int probe()
    {
        try (ServerSocket socket = new ServerSocket())
        {
            // without SO_REUSEADDR the kernel avoids ports in TIME_WAIT, which the worker could not bind cleanly
            socket.setReuseAddress(false);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return socket.getLocalPort();
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot bind a loopback port: " + e.getMessage(), e);
        }
    }
}
