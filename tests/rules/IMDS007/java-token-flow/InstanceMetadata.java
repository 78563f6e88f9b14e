package com.example.ident;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** Reads the instance id with a session token. */
public final class InstanceMetadata {
    public static String instanceId() throws Exception {
        HttpClient client = HttpClient.newHttpClient();
        HttpRequest put = HttpRequest.newBuilder(URI.create("http://169.254.169.254/latest/api/token"))
                .header("X-aws-ec2-metadata-token-ttl-seconds", "60")
                .PUT(HttpRequest.BodyPublishers.noBody())
                .build();
        String token = client.send(put, HttpResponse.BodyHandlers.ofString()).body();
        HttpRequest get = HttpRequest.newBuilder(URI.create("http://169.254.169.254/latest/meta-data/instance-id"))
                .header("X-aws-ec2-metadata-token", token)
                .build();
        return client.send(get, HttpResponse.BodyHandlers.ofString()).body();
    }
}
