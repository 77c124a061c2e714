package io.ds4j.cli;

import io.ds4j.worker.config.WorkerFlag;
import io.ds4j.worker.config.WorkerFlags;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code generate_config} output and reading it back as {@code start -f} does. */
class ConfigFilesTest
{
    @TempDir
    private Path dir;

    private int generate(final StringWriter out)
    {
        final var commandLine = Dscli.commandLine();
        commandLine.setOut(new PrintWriter(out));
        return commandLine.execute("generate_config", "-o", dir.toString());
    }

    @Test
    void generateConfigWritesEveryWorkerFlagInOrder() throws Exception
    {
        final StringWriter out = new StringWriter();
        assertEquals(0, generate(out));
        final Path file = dir.resolve(ConfigFiles.WORKER_CONFIG);
        assertTrue(out.toString().contains(file.toString()), out.toString());
        final Map<String, Object> json = ConfigFiles.readObject(file);
        final List<String> names = new ArrayList<>();
        WorkerFlags.all().forEach(flag -> names.add(flag.name()));
        assertEquals(names, new ArrayList<>(json.keySet()), "every flag, in WorkerFlags order");
        for (final WorkerFlag flag : WorkerFlags.all())
        {
            final Map<?, ?> entry = (Map<?, ?>) json.get(flag.name());
            assertEquals(flag.defaultValue(), entry.get("value"), flag.name());
            assertEquals(flag.description(), entry.get("description"), flag.name());
        }
    }

    @Test
    void generatedWorkerConfigReadsBackToTheDefaults()
    {
        assertEquals(0, generate(new StringWriter()));
        final Map<String, String> read = ConfigFiles.readWorkerFlags(dir.resolve(ConfigFiles.WORKER_CONFIG));
        assertEquals(WorkerFlags.defaults(), read);
        assertEquals(WorkerFlags.defaults(), StartCommand.mergeFlags(read, List.of()));
    }

    @Test
    void editedValuesRoundTrip() throws Exception
    {
        assertEquals(0, generate(new StringWriter()));
        final Path file = dir.resolve(ConfigFiles.WORKER_CONFIG);
        final Map<String, Object> json = ConfigFiles.readObject(file);
        @SuppressWarnings("unchecked")
        final Map<String, Object> size = (Map<String, Object>) json.get("shared_memory_size_mb");
        size.put("value", "128");
        json.put("v", Map.of("value", 1));
        json.put("enable_fallocate", false);
        Files.writeString(file, ConfigFiles.toJson(json));
        final Map<String, String> read = ConfigFiles.readWorkerFlags(file);
        assertEquals("128", read.get("shared_memory_size_mb"));
        assertEquals("1", read.get("v"), "numbers are read as text");
        assertEquals("false", read.get("enable_fallocate"), "a bare value works too");
    }

    @Test
    void clusterConfigHasTheUpstreamDefaults()
    {
        assertEquals(0, generate(new StringWriter()));
        final Map<String, Object> json = ConfigFiles.readObject(dir.resolve(ConfigFiles.CLUSTER_CONFIG));
        assertEquals(List.of("ssh_auth", "worker_config_path", "worker_nodes", "worker_port", "metastore_head_node"),
            new ArrayList<>(json.keySet()));
        assertEquals(Map.of("ssh_private_key", "~/.ssh/id_rsa", "ssh_user_name", "root"), json.get("ssh_auth"));
        assertEquals("./worker_config.json", json.get("worker_config_path"));
        assertEquals(List.of("127.0.0.1"), json.get("worker_nodes"));
        assertEquals(31501, ((Number) json.get("worker_port")).intValue());
        assertEquals("", json.get("metastore_head_node"));
    }

    @Test
    void unknownFlagInTheFileNamesTheFileAndTheFlag() throws Exception
    {
        final Path file = dir.resolve("bad.json");
        Files.writeString(file, "{\"shared_memory_sise_mb\": {\"value\": \"64\"}}");
        final CliException e = assertThrows(CliException.class, () -> ConfigFiles.readWorkerFlags(file));
        assertEquals(CliException.USAGE, e.exitCode());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("did you mean --shared_memory_size_mb"), e.getMessage());
    }

    @Test
    void badValueAndBadJsonSayWhatIsWrong() throws Exception
    {
        final Path file = dir.resolve("bad.json");
        Files.writeString(file, "{\"max_client_num\": {\"value\": \"many\"}}");
        final CliException value = assertThrows(CliException.class, () -> ConfigFiles.readWorkerFlags(file));
        assertTrue(value.getMessage().contains("max_client_num") && value.getMessage().contains("many"),
            value.getMessage());
        Files.writeString(file, "{\"max_client_num\": ");
        final CliException json = assertThrows(CliException.class, () -> ConfigFiles.readWorkerFlags(file));
        assertTrue(json.getMessage().contains("not a JSON object"), json.getMessage());
        final CliException missing = assertThrows(CliException.class,
            () -> ConfigFiles.readWorkerFlags(dir.resolve("none.json")));
        assertTrue(missing.getMessage().contains("generate_config"), missing.getMessage());
    }

    @Test
    void workerAddressComesFromTheFileOrTheDefault() throws Exception
    {
        final Path file = dir.resolve("w.json");
        Files.writeString(file, "{\"worker_address\": {\"value\": \"127.0.0.1:40001\", \"description\": \"x\"}}");
        assertEquals("127.0.0.1:40001", ConfigFiles.readWorkerAddress(file));
        Files.writeString(file, "{}");
        assertEquals(WorkerFlags.find("worker_address").defaultValue(), ConfigFiles.readWorkerAddress(file));
    }
}
