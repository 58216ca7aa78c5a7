// A kubelet runtime in a process of its own, for the test that kills it with SIGKILL: it starts one pod, reports
// the pod's network namespace over IPC once the container runs, then waits to be killed.
import { containerStatus, eventually, nodePod, startTestRuntime } from './support.ts';

const [podCidr = '10.233.0.0/24', dataDir] = process.argv.slice(2);
const { runtime } = await startTestRuntime(podCidr, dataDir ? { dataDir } : {});
const pod = nodePod('sleeper', 'setInterval(() => {}, 1000); console.log("sleeping")');
await runtime.createPod(pod);
await eventually(() => containerStatus(runtime.getPodStatus('tenant-a', 'sleeper'))?.started === true);
const podIP = runtime.getPodStatus('tenant-a', 'sleeper')?.podIP;
process.send?.({ podIP });
setInterval(() => {}, 60_000);
