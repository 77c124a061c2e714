package io.ds4j.worker.config;

/** A worker address {@code host:port}, as the upstream writes it in --worker_address and in etcd keys. */
public record HostPort(String host, int port)
{
    public static HostPort parse(final String text)
    {
        final int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1)
        {
            throw new IllegalArgumentException("'" + text + "' is not host:port (for example 127.0.0.1:31501)");
        }
        final int port;
        try
        {
            port = Integer.parseInt(text.substring(colon + 1));
        }
        catch (final NumberFormatException e)
        {
            throw new IllegalArgumentException("'" + text + "' has no numeric port");
        }
        if (port < 1 || port > 65535)
        {
            throw new IllegalArgumentException("port " + port + " in '" + text + "' is outside 1..65535");
        }
        return new HostPort(text.substring(0, colon), port);
    }

    @Override
    public String toString()
    {
        return host + ":" + port;
    }
}
