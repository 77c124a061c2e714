package io.ds4j.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import io.ds4j.worker.config.WorkerFlag;
import io.ds4j.worker.config.WorkerFlags;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The upstream's JSON configuration files: {@code worker_config.json} ({@code {"flag": {"value": "...",
 * "description": "..."}}}) and {@code cluster_config.json}. Reading checks every flag against {@link WorkerFlags}.
 */
public final class ConfigFiles
{
    /** File name {@code generate_config} writes the worker flags to. */
    public static final String WORKER_CONFIG = "worker_config.json";

    /** File name {@code generate_config} writes the cluster layout to. */
    public static final String CLUSTER_CONFIG = "cluster_config.json";

    private static final JSON PRETTY = JSON.std.with(JSON.Feature.PRETTY_PRINT_OUTPUT);

    private ConfigFiles()
    {
    }

    /** Every worker flag at its default with its description, in {@link WorkerFlags} order. */
    public static Map<String, Object> workerConfig()
    {
        final Map<String, Object> config = new LinkedHashMap<>();
        for (final WorkerFlag flag : WorkerFlags.all())
        {
            final Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("value", flag.defaultValue());
            entry.put("description", flag.description());
            config.put(flag.name(), entry);
        }
        return config;
    }

    /** The upstream's {@code cluster_config.json} defaults (spec §2.1). */
    public static Map<String, Object> clusterConfig()
    {
        final Map<String, Object> sshAuth = new LinkedHashMap<>();
        sshAuth.put("ssh_private_key", "~/.ssh/id_rsa");
        sshAuth.put("ssh_user_name", "root");
        final Map<String, Object> config = new LinkedHashMap<>();
        config.put("ssh_auth", sshAuth);
        config.put("worker_config_path", "./" + WORKER_CONFIG);
        config.put("worker_nodes", List.of("127.0.0.1"));
        config.put("worker_port", 31501);
        config.put("metastore_head_node", "");
        return config;
    }

    /** {@code value} as pretty printed JSON, ending with a newline. */
    public static String toJson(final Object value)
    {
        try
        {
            return PRETTY.asString(value) + System.lineSeparator();
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
        }
    }

    /**
     * The flag values in a worker config file. Each entry is {@code {"value": ..., "description": ...}} as the
     * upstream writes it; a bare value ({@code "flag": 64}) is accepted too. Numbers and booleans become text.
     *
     * @throws CliException (usage) when the file is missing, is not JSON, or names an unknown flag or a bad value
     */
    public static Map<String, String> readWorkerFlags(final Path file)
    {
        final Map<String, Object> json = readObject(file);
        final Map<String, String> values = new LinkedHashMap<>();
        for (final Map.Entry<String, Object> entry : json.entrySet())
        {
            final String name = entry.getKey();
            final WorkerFlag flag = WorkerFlags.find(name);
            if (flag == null)
            {
                throw new CliException(CliException.USAGE, file + ": " + unknownFlagMessage(name)
                    + "; remove it from the file or regenerate the file with dscli generate_config");
            }
            final Object raw = entry.getValue() instanceof final Map<?, ?> map ? map.get("value") : entry.getValue();
            if (raw instanceof Map<?, ?> || raw instanceof List<?>)
            {
                throw new CliException(CliException.USAGE, file + ": the value of \"" + name
                    + "\" must be text, a number or true/false, like {\"" + name + "\": {\"value\": \""
                    + flag.defaultValue() + "\"}}");
            }
            final String value = raw == null ? "" : String.valueOf(raw);
            final String problem = flag.problem(value);
            if (problem != null)
            {
                throw new CliException(CliException.USAGE, file + ": " + problem);
            }
            values.put(name, value);
        }
        return values;
    }

    /**
     * The {@code worker_address} a worker config file sets, else the default.
     *
     * @throws CliException (usage) when the file cannot be read
     */
    public static String readWorkerAddress(final Path file)
    {
        return readWorkerFlags(file).getOrDefault("worker_address", WorkerFlags.find("worker_address")
            .defaultValue());
    }

    /**
     * A JSON file that holds one object.
     *
     * @throws CliException (usage) when it is missing or not a JSON object
     */
    public static Map<String, Object> readObject(final Path file)
    {
        return readObject(file, "{\"flag\": {\"value\": \"...\"}}");
    }

    /**
     * A JSON file that holds one object, {@code example} showing in the error what one looks like.
     *
     * @throws CliException (usage) when it is missing or not a JSON object
     */
    public static Map<String, Object> readObject(final Path file, final String example)
    {
        final String text;
        try
        {
            text = Files.readString(file, StandardCharsets.UTF_8);
        }
        catch (final NoSuchFileException e)
        {
            throw new CliException(CliException.USAGE, "config file " + file + " does not exist;"
                + " dscli generate_config -o DIR writes one to start from");
        }
        catch (final IOException e)
        {
            throw new CliException(CliException.USAGE, "cannot read config file " + file + ": " + e.getMessage());
        }
        try
        {
            final Map<String, Object> map = JSON.std.mapFrom(text);
            if (map == null)
            {
                throw new IOException("the file holds no JSON object");
            }
            return map;
        }
        catch (final IOException e)
        {
            throw new CliException(CliException.USAGE, "config file " + file + " is not a JSON object like " + example
                + ": " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    /** WorkerFlags' own wording for an unknown flag (with its did-you-mean). */
    static String unknownFlagMessage(final String name)
    {
        try
        {
            WorkerFlags.parse(List.of("--" + name + "="));
            return "unknown worker flag --" + name;
        }
        catch (final IllegalArgumentException e)
        {
            return e.getMessage();
        }
    }
}
