package io.ds4j.worker.cluster;

import io.ds4j.worker.config.HostPort;
import io.ds4j.worker.config.WorkerConfig;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Where the cluster's etcd is and how its keys are named: the endpoints of {@code --etcd_address}, the credentials
 * of {@code --etcd_username}/{@code --etcd_password} (both empty: no authentication), and {@code --cluster_name},
 * which prefixes every key with {@code /<cluster_name>} so several clusters can share one etcd (spec §3.4). The
 * layout is written down in {@code docs/cluster.md}, section "etcd layout".
 *
 * @param endpoints   etcd client endpoints as {@code host:port}, at least one, in the order given
 * @param username    etcd user, empty for none
 * @param password    that user's password, empty for none; never shown by {@link #toString()}
 * @param clusterName the cluster's name, empty for none
 */
public record EtcdSettings(List<String> endpoints, String username, String password, String clusterName)
{
    /** The table of membership rows: {@code <prefix>/datasystem/cluster/<ip:port>}. */
    public static final String CLUSTER_TABLE = "/datasystem/cluster/";
    /** The one ring record: {@code <prefix>/datasystem/ring/}. */
    public static final String RING_TABLE = "/datasystem/ring/";

    public EtcdSettings
    {
        Objects.requireNonNull(endpoints, "endpoints");
        username = username == null ? "" : username;
        password = password == null ? "" : password;
        clusterName = clusterName == null ? "" : clusterName.trim();
        if (endpoints.isEmpty())
        {
            throw new IllegalArgumentException("no etcd endpoint given: --etcd_address takes host:port[,host:port...]");
        }
        final List<String> normalized = new ArrayList<>(endpoints.size());
        for (final String endpoint : endpoints)
        {
            normalized.add(normalizeEndpoint(endpoint));
        }
        endpoints = List.copyOf(normalized);
        if (username.isEmpty() != password.isEmpty())
        {
            throw new IllegalArgumentException("--etcd_username and --etcd_password go together: give both or"
                + " neither");
        }
        final String problem = clusterNameProblem(clusterName);
        if (problem != null)
        {
            throw new IllegalArgumentException(problem);
        }
    }

    /**
     * Settings from the text of the flags.
     *
     * @param etcdAddress a comma list of {@code host:port} or {@code http://host:port}
     * @throws IllegalArgumentException naming the flag and what is wrong with it
     */
    public static EtcdSettings of(final String etcdAddress, final String clusterName, final String username,
        final String password)
    {
        return new EtcdSettings(parseEndpoints(etcdAddress), username, password, clusterName);
    }

    /**
     * The worker's settings.
     *
     * @throws IllegalArgumentException if {@code --etcd_address} is empty (a standalone worker has no etcd) or bad
     */
    public static EtcdSettings from(final WorkerConfig config)
    {
        if (config.etcdAddress() == null || config.etcdAddress().isBlank())
        {
            throw new IllegalArgumentException("--etcd_address is empty: this worker runs standalone, without etcd");
        }
        return of(config.etcdAddress(), config.clusterName(), config.etcdUsername(), config.etcdPassword());
    }

    /**
     * The endpoints of an {@code --etcd_address} value, each as {@code host:port}.
     *
     * @throws IllegalArgumentException if the list is empty or an entry is not {@code host:port} or
     *     {@code http://host:port}
     */
    public static List<String> parseEndpoints(final String etcdAddress)
    {
        final List<String> endpoints = new ArrayList<>();
        if (etcdAddress != null)
        {
            for (final String part : etcdAddress.split(","))
            {
                if (!part.isBlank())
                {
                    endpoints.add(normalizeEndpoint(part));
                }
            }
        }
        if (endpoints.isEmpty())
        {
            throw new IllegalArgumentException("--etcd_address '" + etcdAddress + "' names no endpoint; it takes"
                + " host:port[,host:port...], e.g. 127.0.0.1:2379");
        }
        return endpoints;
    }

    /** Null when the name can prefix etcd keys, else what is wrong with it. */
    public static String clusterNameProblem(final String clusterName)
    {
        for (int i = 0; i < clusterName.length(); i++)
        {
            final char c = clusterName.charAt(i);
            if (c == '/' || Character.isWhitespace(c) || Character.isISOControl(c))
            {
                return "--cluster_name '" + clusterName + "' holds '" + (Character.isISOControl(c) ? "\\u"
                    + Integer.toHexString(c) : String.valueOf(c)) + "'; use letters, digits, '-', '_' or '.'";
            }
        }
        return null;
    }

    private static String normalizeEndpoint(final String endpoint)
    {
        if (endpoint == null)
        {
            throw new IllegalArgumentException("etcd endpoint is null");
        }
        String text = endpoint.trim();
        if (text.startsWith("https://"))
        {
            throw new IllegalArgumentException("etcd endpoint '" + text + "': TLS (https) is not supported by ds4j"
                + " yet; use http://host:port or host:port");
        }
        if (text.startsWith("http://"))
        {
            text = text.substring("http://".length());
        }
        if (text.endsWith("/"))
        {
            text = text.substring(0, text.length() - 1);
        }
        try
        {
            return HostPort.parse(text).toString();
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalArgumentException("etcd endpoint " + e.getMessage(), e);
        }
    }

    /** The endpoints as the URIs the etcd client dials. */
    public List<URI> uris()
    {
        return endpoints.stream().map(endpoint -> URI.create("http://" + endpoint)).toList();
    }

    /** Whether etcd authentication is used. */
    public boolean hasCredentials()
    {
        return !username.isEmpty();
    }

    /** {@code ""}, or {@code "/<cluster_name>"} when a cluster name is set. */
    public String prefix()
    {
        return clusterName.isEmpty() ? "" : "/" + clusterName;
    }

    /** The prefix of every membership row: {@code <prefix>/datasystem/cluster/}. */
    public String clusterPrefix()
    {
        return prefix() + CLUSTER_TABLE;
    }

    /** The membership row of one worker: {@code <prefix>/datasystem/cluster/<ip:port>}. */
    public String clusterKey(final String workerAddress)
    {
        return clusterPrefix() + workerAddress;
    }

    /** The key of the ring record: {@code <prefix>/datasystem/ring/}. */
    public String ringKey()
    {
        return prefix() + RING_TABLE;
    }

    /** The endpoints as one comma list, for messages. */
    public String endpointList()
    {
        return String.join(",", endpoints);
    }

    @Override
    public String toString()
    {
        return "EtcdSettings[endpoints=" + endpoints + ", username=" + username + ", password="
            + (password.isEmpty() ? "" : "****") + ", clusterName=" + clusterName + "]";
    }
}
