var builder = DistributedApplication.CreateBuilder(args);

var adminToken = builder.AddParameter("admin-token", secret: true)
    .WithDescription("The first admin bearer token for the api (sign-in on the board, MCP clients, scripts).");

var tasksDb = builder.AddTaskDatabase(serverName: "postgres", databaseName: "tasks");

var api = builder.AddProject<Projects.TaskManager_Api>("api")
    .WithReference(tasksDb).WaitFor(tasksDb)
    .WithEnvironment("Auth__AdminToken", adminToken)
    .WithHttpHealthCheck("/health");

builder.AddProject<Projects.TaskManager_Mcp>("mcp")
    .WithReference(api).WaitFor(api)
    .WithHttpHealthCheck("/health");

builder.Build().Run();
