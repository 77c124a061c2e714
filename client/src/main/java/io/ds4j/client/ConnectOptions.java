package io.ds4j.client;

/**
 * How a {@link DsClient} connects. Timeouts follow the upstream SDK: {@code connectTimeoutMs} (default 9000) bounds
 * connecting and the HELLO; {@code requestTimeoutMs} bounds each request (0: the connect timeout is used), with a
 * get's subscribe timeout added on top.
 */
public final class ConnectOptions
{
    /** How values travel between this process and the worker. */
    public enum Transport
    {
        /** Shared memory and a Unix socket when the worker is on this host and its pool can be mapped, else TCP. */
        AUTO,
        /** Always TCP with values inline in the frames, as a client on another host does. */
        TCP_INLINE
    }

    private final String host;
    private final int port;
    private final int connectTimeoutMs;
    private final int requestTimeoutMs;
    private final int reconnectWaitMs;
    private final Transport transport;

    private ConnectOptions(final Builder builder)
    {
        this.host = builder.host;
        this.port = builder.port;
        this.connectTimeoutMs = builder.connectTimeoutMs;
        this.requestTimeoutMs = builder.requestTimeoutMs;
        this.reconnectWaitMs = builder.reconnectWaitMs;
        this.transport = builder.transport;
    }

    public static Builder builder(final String host, final int port)
    {
        return new Builder(host, port);
    }

    public String host()
    {
        return host;
    }

    public int port()
    {
        return port;
    }

    public int connectTimeoutMs()
    {
        return connectTimeoutMs;
    }

    /** The effective per-request timeout. */
    public int requestTimeoutMs()
    {
        return requestTimeoutMs > 0 ? requestTimeoutMs : connectTimeoutMs;
    }

    /** -1 means: as long as the worker's client_reconnect_wait_s says. */
    public int reconnectWaitMs()
    {
        return reconnectWaitMs;
    }

    public Transport transport()
    {
        return transport;
    }

    /** Builder; every setter checks its value. */
    public static final class Builder
    {
        private final String host;
        private final int port;
        private int connectTimeoutMs = 9000;
        private int requestTimeoutMs;
        private int reconnectWaitMs = -1;
        private Transport transport = Transport.AUTO;

        private Builder(final String host, final int port)
        {
            if (host == null || host.isEmpty())
            {
                throw new IllegalArgumentException("host is empty");
            }
            if (port < 1 || port > 65535)
            {
                throw new IllegalArgumentException("port " + port + " is outside 1..65535");
            }
            this.host = host;
            this.port = port;
        }

        public Builder connectTimeoutMs(final int value)
        {
            if (value <= 0)
            {
                throw new IllegalArgumentException("connectTimeoutMs must be positive");
            }
            connectTimeoutMs = value;
            return this;
        }

        public Builder requestTimeoutMs(final int value)
        {
            if (value < 0)
            {
                throw new IllegalArgumentException("requestTimeoutMs must be 0 (use the connect timeout) or positive");
            }
            requestTimeoutMs = value;
            return this;
        }

        public Builder reconnectWaitMs(final int value)
        {
            reconnectWaitMs = value;
            return this;
        }

        public Builder transport(final Transport value)
        {
            transport = value;
            return this;
        }

        public ConnectOptions build()
        {
            return new ConnectOptions(this);
        }
    }
}
