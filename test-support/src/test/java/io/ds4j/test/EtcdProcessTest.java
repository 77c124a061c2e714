package io.ds4j.test;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A real etcd through its whole life: start, serve, kill -9, restart with its data, restart empty, close. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class EtcdProcessTest
{
    private static final ByteSequence KEY = ByteSequence.from("/ds4j-test/key", StandardCharsets.UTF_8);

    private static List<KeyValue> read(final Client client) throws Exception
    {
        return client.getKVClient().get(KEY).get(10, TimeUnit.SECONDS).getKvs();
    }

    @Test
    void lifecycle() throws Exception
    {
        final Path dataDir;
        final long firstPid;
        final EtcdProcess etcd = EtcdProcess.start();
        try (etcd; Client client = Client.builder().endpoints(etcd.url()).build())
        {
            dataDir = etcd.dataDir();
            assertTrue(etcd.isAlive());
            assertEquals("127.0.0.1:" + etcd.clientPort(), etcd.endpoint());
            assertNotEquals(etcd.clientPort(), etcd.peerPort());
            assertTrue(dataDir.toString().startsWith("/tmp/ds4j-etcd-"), dataDir.toString());
            try (HttpClient http = HttpClient.newHttpClient())
            {
                final String version = http.send(HttpRequest.newBuilder(URI.create(etcd.url() + "/version")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
                assertTrue(version.contains("etcdserver"), version);
            }
            client.getKVClient().put(KEY, ByteSequence.from("v1", StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
            firstPid = etcd.pid();

            etcd.kill();
            assertFalse(etcd.isAlive());
            assertFalse(FreePorts.inUse(etcd.clientPort()), "a killed etcd holds no port");
            etcd.restart();
            assertTrue(etcd.isAlive());
            assertNotEquals(firstPid, etcd.pid());
            assertEquals("v1", read(client).get(0).getValue().toString(StandardCharsets.UTF_8),
                "the data outlives kill -9 and restart");

            etcd.stop();
            assertFalse(etcd.isAlive());
            etcd.restartEmpty();
            assertTrue(etcd.isAlive());
            assertTrue(read(client).isEmpty(), "restartEmpty wipes the data");
            assertTrue(Files.readString(etcd.logFile()).contains("--data-dir " + dataDir), "the log names the run");
            assertFalse(etcd.logTail(5).isEmpty());
        }
        assertFalse(etcd.isAlive());
        assertFalse(Files.exists(dataDir.getParent()), "close deletes the directory");
    }
}
