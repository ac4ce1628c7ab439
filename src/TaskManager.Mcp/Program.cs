using TaskManager.Mcp;

HealthProbe.ExitIfRequested(args);

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddTaskApiClient();
builder.AddCallerAuthentication();
builder.AddTaskManagerMcpServer();

var app = builder.Build();

app.UseOriginCheck();
app.UseAuthentication();
app.UseAuthorization();
app.UseUtf8RequestBodies();

app.MapDefaultEndpoints();
app.MapMcp("/mcp").RequireAuthorization();

app.Run();

public partial class Program;
