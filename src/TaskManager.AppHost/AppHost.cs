// WithoutHttpsCertificate is experimental. Our services serve plain http (the dashboard too, see launchSettings.json);
// without it every project counts as a TLS user and the dashboard asks for a trusted dev certificate on every run.
#pragma warning disable ASPIRECERTIFICATES001

var builder = DistributedApplication.CreateBuilder(args);

var adminToken = builder.AddParameter("admin-token", secret: true)
    .WithDescription("The first admin bearer token for the api (sign-in on the board, MCP clients, scripts).");

// A server that fails to start stops the AppHost with an error saying what to do (see AddTaskDatabase).
var tasksDb = builder.AddTaskDatabase(serverName: "postgres", databaseName: "tasks");

// StopOnResourceUnavailable: when what a service waits for has failed, the service fails at once instead of waiting for
// a restart from the dashboard, so a failed start ends (and is reported) instead of hanging.
var api = builder.AddProject<Projects.TaskManager_Api>("api")
    .WithReference(tasksDb).WaitFor(tasksDb, WaitBehavior.StopOnResourceUnavailable)
    .WithEnvironment("Auth__AdminToken", adminToken)
    .WithoutHttpsCertificate()
    .WithHttpHealthCheck("/health")
    .PublishWithContainerPort()
    .WithReplicasFromSetting("Api:Replicas");

builder.AddProject<Projects.TaskManager_Mcp>("mcp")
    .WithReference(api).WaitFor(api, WaitBehavior.StopOnResourceUnavailable)
    .WithoutHttpsCertificate()
    .WithHttpHealthCheck("/health")
    .PublishWithContainerPort();

builder.Build().Run();
