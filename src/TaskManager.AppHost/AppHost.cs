// WithoutHttpsCertificate is experimental. Our services serve plain http (the dashboard too, see launchSettings.json);
// without it every project counts as a TLS user and the dashboard asks for a trusted dev certificate on every run.
#pragma warning disable ASPIRECERTIFICATES001

var builder = DistributedApplication.CreateBuilder(args);

var adminToken = builder.AddParameter("admin-token", secret: true)
    .WithDescription("The first admin bearer token for the api (sign-in on the board, MCP clients, scripts).");

var tasksDb = builder.AddTaskDatabase(serverName: "postgres", databaseName: "tasks");

var api = builder.AddProject<Projects.TaskManager_Api>("api")
    .WithReference(tasksDb).WaitFor(tasksDb)
    .WithEnvironment("Auth__AdminToken", adminToken)
    .WithoutHttpsCertificate()
    .WithHttpHealthCheck("/health")
    .PublishWithContainerPort();

builder.AddProject<Projects.TaskManager_Mcp>("mcp")
    .WithReference(api).WaitFor(api)
    .WithoutHttpsCertificate()
    .WithHttpHealthCheck("/health")
    .PublishWithContainerPort();

builder.Build().Run();
