package io.ds4j.client;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Connecting to something that is not a healthy worker fails fast and clearly, and leaves nothing running. */
class ConnectFailureTest
{
    @Test
    void refusedPortIsRpcUnavailableWithAHint() throws IOException
    {
        final int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            port = probe.getLocalPort();
        }
        final DsException e = assertThrows(DsException.class, () -> DsClient.connect("127.0.0.1", port));
        assertEquals(StatusCode.RPC_UNAVAILABLE, e.code());
        assertTrue(e.getMessage().contains("dscli start"), e.getMessage());
    }

    @Test
    void aServerThatNeverAnswersTimesOut() throws IOException
    {
        try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            final ConnectOptions options = ConnectOptions.builder("127.0.0.1", silent.getLocalPort())
                .connectTimeoutMs(300).build();
            final DsException e = assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> assertThrows(DsException.class, () -> DsClient.connect(options)));
            assertEquals(StatusCode.RPC_UNAVAILABLE, e.code());
        }
    }

    @Test
    void aServerSpeakingGarbageIsRejected() throws Exception
    {
        try (ServerSocket server = new ServerSocket())
        {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            final Thread answerer = Thread.ofVirtual().start(() ->
            {
                try (Socket socket = server.accept())
                {
                    socket.getOutputStream().write("HTTP/1.1 400 Bad Request\r\n\r\n".repeat(4).getBytes());
                    socket.getOutputStream().flush();
                    Thread.sleep(2000);
                }
                catch (final IOException | InterruptedException ignored)
                {
                    // the client hangs up first
                }
            });
            final ConnectOptions options = ConnectOptions.builder("127.0.0.1", server.getLocalPort())
                .connectTimeoutMs(1000).build();
            final DsException e = assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> assertThrows(DsException.class, () -> DsClient.connect(options)));
            assertEquals(StatusCode.RPC_UNAVAILABLE, e.code());
            answerer.interrupt();
        }
    }
}
