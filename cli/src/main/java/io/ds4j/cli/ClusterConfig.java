package io.ds4j.cli;

import io.ds4j.common.Spelling;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The upstream's {@code cluster_config.json}, read and checked for {@code dscli up} and {@code dscli down}: which
 * hosts run a worker, on which port, and how to reach them over ssh.
 *
 * <p>Two things go beyond the upstream's format, so that one file can describe several workers on one host (a
 * laptop cluster, or a big machine split in two): a {@code worker_nodes} entry may be {@code host:port}, whose port
 * overrides {@code worker_port} for that entry, and an optional {@code remote_dscli} key names the dscli to run on
 * the remote hosts. A plain upstream file reads the same as upstream.
 *
 * @param sshPrivateKey    {@code ssh_auth.ssh_private_key}, with {@code ~} expanded
 * @param sshUserName      {@code ssh_auth.ssh_user_name}
 * @param workerConfigPath {@code worker_config_path}; a relative one resolves against the directory of the cluster
 *                         config file, where {@code generate_config} writes both
 * @param nodes            the workers, one per {@code worker_nodes} entry, in the file's order
 * @param metastoreHeadNode {@code metastore_head_node} (ds4j has no metastore: {@code dscli up} refuses a non-empty
 *                         one)
 * @param remoteDscli      {@code remote_dscli}, or null to use the default (see {@link UpCommand})
 */
public record ClusterConfig(Path file, Path sshPrivateKey, String sshUserName, Path workerConfigPath,
    List<Node> nodes, String metastoreHeadNode, String remoteDscli)
{
    /** The keys a cluster config may hold: the upstream's five and ds4j's {@code remote_dscli}. */
    static final List<String> KEYS = List.of("ssh_auth", "worker_config_path", "worker_nodes", "worker_port",
        "metastore_head_node", "remote_dscli");

    private static final List<String> SSH_KEYS = List.of("ssh_private_key", "ssh_user_name");

    /**
     * One worker of the cluster.
     *
     * @param host the host as the file names it (an IPv6 address without brackets)
     * @param port its worker port
     */
    public record Node(String host, int port)
    {
        /** The worker's {@code --worker_address}: {@code host:port}, {@code [v6]:port}. */
        public String address()
        {
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        }

        /** A directory name for this worker's own home when its host runs several: {@code host_port}. */
        String homeName()
        {
            return host.replace(':', '-') + "_" + port;
        }

        @Override
        public String toString()
        {
            return address();
        }
    }

    /**
     * Reads and checks a cluster config file. Missing keys take {@code generate_config}'s defaults except
     * {@code worker_nodes}, which must list at least one host.
     *
     * @throws CliException (usage) naming the file, the key and what a good value looks like
     */
    public static ClusterConfig read(final Path file)
    {
        final Path path = file.toAbsolutePath().normalize();
        return parse(path, ConfigFiles.readObject(path, "{\"worker_nodes\": [\"127.0.0.1\"], \"worker_port\": 31501}"));
    }

    /** {@link #read} on JSON already parsed. */
    static ClusterConfig parse(final Path file, final Map<String, Object> json)
    {
        for (final String key : json.keySet())
        {
            if (!KEYS.contains(key))
            {
                throw problem(file, "unknown key \"" + key + "\"" + suggestion(key, KEYS) + "; a cluster config"
                    + " holds " + String.join(", ", KEYS));
            }
        }
        final Map<String, Object> defaults = ConfigFiles.clusterConfig();
        @SuppressWarnings("unchecked")
        final Map<String, Object> defaultSsh = (Map<String, Object>) defaults.get("ssh_auth");
        final Map<String, Object> ssh = new LinkedHashMap<>(defaultSsh);
        final Object sshValue = json.get("ssh_auth");
        if (sshValue != null)
        {
            if (!(sshValue instanceof final Map<?, ?> map))
            {
                throw problem(file, "\"ssh_auth\" must be an object like {\"ssh_private_key\": \"~/.ssh/id_rsa\","
                    + " \"ssh_user_name\": \"root\"}");
            }
            for (final Map.Entry<?, ?> entry : map.entrySet())
            {
                final String key = String.valueOf(entry.getKey());
                if (!SSH_KEYS.contains(key))
                {
                    throw problem(file, "unknown key \"ssh_auth." + key + "\"" + suggestion(key, SSH_KEYS)
                        + "; ssh_auth holds ssh_private_key and ssh_user_name");
                }
                ssh.put(key, entry.getValue());
            }
        }
        final String key = text(file, "ssh_auth.ssh_private_key", ssh.get("ssh_private_key"));
        final String user = text(file, "ssh_auth.ssh_user_name", ssh.get("ssh_user_name"));
        if (user.isBlank() || !user.matches("[A-Za-z0-9._][A-Za-z0-9._-]*"))
        {
            throw problem(file, "\"ssh_auth.ssh_user_name\" must be a user name like \"root\", not \"" + user + "\"");
        }
        final String workerConfig = text(file, "worker_config_path",
            json.getOrDefault("worker_config_path", defaults.get("worker_config_path")));
        if (workerConfig.isBlank())
        {
            throw problem(file, "\"worker_config_path\" is empty; name the worker config file, like"
                + " \"./worker_config.json\"");
        }
        final int workerPort = port(file, "worker_port", json.getOrDefault("worker_port", defaults.get("worker_port")));
        final List<Node> nodes = nodes(file, json.get("worker_nodes"), workerPort);
        final String metastore = text(file, "metastore_head_node", json.getOrDefault("metastore_head_node", ""));
        final Object remote = json.get("remote_dscli");
        final String remoteDscli = remote == null ? null : text(file, "remote_dscli", remote);
        if (remoteDscli != null && remoteDscli.isBlank())
        {
            throw problem(file, "\"remote_dscli\" is empty; name the dscli to run on the other hosts, like"
                + " \"/opt/ds4j/bin/dscli\", or leave the key out");
        }
        final Path directory = file.getParent() == null ? Path.of("").toAbsolutePath() : file.getParent();
        return new ClusterConfig(file, expandHome(key), user, directory.resolve(expandHome(workerConfig).toString())
            .normalize(), nodes, metastore, remoteDscli);
    }

    /**
     * Whether {@code node}'s machine runs another worker of the cluster too, so each needs its own home: another
     * entry names the same host, or both name this machine ({@code 127.0.0.1} and {@code localhost} are one).
     *
     * @param isLocal whether a host is this machine
     */
    public boolean sharesHost(final Node node, final Predicate<String> isLocal)
    {
        final boolean here = isLocal.test(node.host());
        return nodes.stream().filter(other -> other.host().equals(node.host())
            || here && isLocal.test(other.host())).count() > 1;
    }

    private static List<Node> nodes(final Path file, final Object value, final int workerPort)
    {
        final String example = "like \"worker_nodes\": [\"192.168.0.1\", \"192.168.0.2\"] (an entry host:port"
            + " overrides worker_port)";
        if (value == null)
        {
            throw problem(file, "\"worker_nodes\" is missing; list the hosts to run a worker on, " + example);
        }
        if (!(value instanceof final List<?> list) || list.isEmpty())
        {
            throw problem(file, "\"worker_nodes\" must be a non-empty list of hosts, " + example);
        }
        final List<Node> nodes = new ArrayList<>();
        final Set<String> seen = new HashSet<>();
        for (final Object entry : list)
        {
            if (!(entry instanceof final String text) || text.isBlank())
            {
                throw problem(file, "\"worker_nodes\" entry " + entry + " is not a host; " + example);
            }
            final Node node = node(file, text.strip(), workerPort);
            if (!seen.add(node.address()))
            {
                throw problem(file, "\"worker_nodes\" lists " + node.address() + " twice; to run several workers on"
                    + " one host give each its own port, like \"" + node.host() + ":" + (node.port() + 1) + "\"");
            }
            nodes.add(node);
        }
        return List.copyOf(nodes);
    }

    /** {@code host}, {@code host:port}, a bare IPv6 address, or {@code [v6]:port}. */
    static Node node(final Path file, final String entry, final int workerPort)
    {
        final String host;
        String port = null;
        if (entry.startsWith("["))
        {
            final int close = entry.indexOf(']');
            if (close < 0 || (close + 1 < entry.length() && entry.charAt(close + 1) != ':'))
            {
                throw problem(file, "\"worker_nodes\" entry \"" + entry + "\" is not [IPv6] or [IPv6]:port");
            }
            host = entry.substring(1, close);
            port = close + 1 < entry.length() ? entry.substring(close + 2) : null;
        }
        else if (entry.indexOf(':') >= 0 && entry.indexOf(':') == entry.lastIndexOf(':'))
        {
            host = entry.substring(0, entry.indexOf(':'));
            port = entry.substring(entry.indexOf(':') + 1);
        }
        else
        {
            // no colon, or several: a bare IPv6 address
            host = entry;
        }
        if (host.isEmpty() || !host.matches("[A-Za-z0-9.:%_-]+") || host.startsWith("-"))
        {
            throw problem(file, "\"worker_nodes\" entry \"" + entry + "\" is not a host name or IP address");
        }
        return new Node(host, port == null ? workerPort : port(file, "worker_nodes entry \"" + entry + "\"", port));
    }

    private static int port(final Path file, final String key, final Object value)
    {
        final String text = String.valueOf(value).strip();
        try
        {
            final int port = Integer.parseInt(text);
            if (port >= 1 && port <= 65535 && !(value instanceof Double))
            {
                return port;
            }
        }
        catch (final NumberFormatException e)
        {
            // worded below
        }
        throw problem(file, "the port of " + (key.startsWith("worker_nodes") ? key : "\"" + key + "\"") + " must be"
            + " a number in 1..65535, like 31501, not " + text);
    }

    private static String text(final Path file, final String key, final Object value)
    {
        if (value instanceof Map<?, ?> || value instanceof List<?>)
        {
            throw problem(file, "\"" + key + "\" must be text, not " + value);
        }
        return value == null ? "" : String.valueOf(value);
    }

    private static Path expandHome(final String path)
    {
        if (path.equals("~") || path.startsWith("~/"))
        {
            return Path.of(System.getProperty("user.home") + path.substring(1));
        }
        return Path.of(path);
    }

    private static String suggestion(final String key, final List<String> known)
    {
        String best = null;
        int bestDistance = 4;
        for (final String candidate : known)
        {
            // a few letters off, or cut short (ssh_user for ssh_user_name)
            final int distance = candidate.startsWith(key) && key.length() >= 3 ? 1 : Spelling.distance(key, candidate);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best == null ? "" : " (did you mean \"" + best + "\"?)";
    }

    private static CliException problem(final Path file, final String message)
    {
        return new CliException(CliException.USAGE, file + ": " + message);
    }
}
