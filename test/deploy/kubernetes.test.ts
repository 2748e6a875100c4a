/**
 * The Kubernetes manifests (deploy/kubernetes) and the Function Compute 3.0 s.yaml (deploy/alibaba-cloud), checked
 * without a cluster or an account: parsed as YAML, then held against the app itself - the port it listens on, its
 * health routes, the variables src/ reads - and against each other (selectors, Secret keys, the scaled target).
 * A manifest left with its placeholders is started for real, and must stop at start-up naming the variable.
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'

const ROOT = resolve(import.meta.dirname, '../..')
const K8S = join(ROOT, 'deploy/kubernetes')

interface Manifest {
  apiVersion?: string
  kind?: string
  metadata?: { name?: string; labels?: Record<string, string> }
  [field: string]: unknown
}

interface Probe {
  httpGet?: { path?: string; port?: string | number }
}

interface EnvVar {
  name: string
  value?: string
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean }
    configMapKeyRef?: { name: string; key: string; optional?: boolean }
  }
}

interface Container {
  name: string
  image: string
  ports?: { name?: string; containerPort: number }[]
  env?: EnvVar[]
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[]
  startupProbe?: Probe
  livenessProbe?: Probe
  readinessProbe?: Probe
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean }
  lifecycle?: { preStop?: { exec?: { command?: string[] } } }
}

interface PodSpec {
  containers: Container[]
  terminationGracePeriodSeconds?: number
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number }
}

const files = readdirSync(K8S).filter((name) => /\.ya?ml$/.test(name))
const manifests: Manifest[] = files.flatMap((name) =>
  parseAllDocuments(readFileSync(join(K8S, name), 'utf8')).map((doc) => {
    expect(doc.errors, name).toEqual([])
    return doc.toJS() as Manifest
  }),
)
const resources = manifests.filter((m) => m.kind !== 'Kustomization')
const one = (kind: string) => {
  const found = resources.filter((m) => m.kind === kind)
  expect(found, kind).toHaveLength(1)
  return found[0]! as Manifest & Record<string, any>
}

const deployment = one('Deployment')
const pod = deployment.spec.template.spec as PodSpec
const container = pod.containers[0]!
const service = one('Service')
const secret = one('Secret')
const configMap = one('ConfigMap')

/** Every variable name src/ reads, as the code writes them: quoted. */
const sourceText = (dir: string): string =>
  readdirSync(dir, { withFileTypes: true })
    .map((entry) =>
      entry.isDirectory()
        ? sourceText(join(dir, entry.name))
        : entry.name.endsWith('.ts')
          ? readFileSync(join(dir, entry.name), 'utf8')
          : '',
    )
    .join('\n')
const SOURCE = sourceText(join(ROOT, 'src'))
const readByTheApp = (name: string) => SOURCE.includes(`'${name}'`) || SOURCE.includes(`"${name}"`)

/** The keys of a Secret or ConfigMap, whichever of data and stringData holds them. */
const keysOf = (manifest: Record<string, any>): string[] => [
  ...Object.keys(manifest.data ?? {}),
  ...Object.keys(manifest.stringData ?? {}),
]

/** The environment the container gets, as the kubelet assembles it from env and envFrom. */
const containerEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const from of container.envFrom ?? []) {
    const source = from.configMapRef ? configMap : secret
    expect(source.metadata?.name).toBe((from.configMapRef ?? from.secretRef)!.name)
    Object.assign(env, source.data, source.stringData)
  }
  for (const entry of container.env ?? []) {
    const ref = entry.valueFrom?.secretKeyRef ?? entry.valueFrom?.configMapKeyRef
    const source = entry.valueFrom?.secretKeyRef ? secret : configMap
    env[entry.name] = ref ? String({ ...source.data, ...source.stringData }[ref.key]) : String(entry.value ?? '')
  }
  return env
}

/** A named or numbered port of the container, as a number. */
const portOf = (port: string | number | undefined): number | undefined =>
  typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort

const listenPort = () => Number(containerEnv().PORT ?? 8080)

describe('deploy/kubernetes', () => {
  it('holds a Deployment, Service, PodDisruptionBudget, HorizontalPodAutoscaler, Secret and ConfigMap, all listed for kubectl apply -k', () => {
    const [kustomization] = manifests.filter((m) => m.kind === 'Kustomization') as { resources: string[] }[]
    expect(kustomization?.resources.sort()).toEqual(files.filter((name) => name !== 'kustomization.yaml').sort())
    for (const kind of ['PodDisruptionBudget', 'HorizontalPodAutoscaler']) one(kind)
  })

  it('sends the Service to the port the app listens on (PORT)', () => {
    const ports = service.spec.ports as { targetPort: string | number }[]
    expect(ports.length).toBeGreaterThan(0)
    for (const port of ports) expect(portOf(port.targetPort), String(port.targetPort)).toBe(listenPort())
    expect(container.ports?.find((p) => p.name === 'http')?.containerPort).toBe(listenPort())
  })

  it('probes liveness on /healthz and readiness on /readyz, on the app port', () => {
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz')
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz')
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
      if (probe) expect(portOf(probe.httpGet?.port)).toBe(listenPort())
    }
    // The routes exist in the app as written.
    expect(SOURCE).toContain("app.get('/healthz'")
    expect(SOURCE).toContain("app.get('/readyz'")
  })

  it('exposes metrics on the port the app serves them on in production', async () => {
    const { DEFAULT_METRICS_PORT } = await import('../../src/node/server.js')
    const env = containerEnv()
    const metrics = container.ports?.find((p) => p.name === 'metrics')?.containerPort
    expect(metrics).toBe(Number(env.SMS_HOOK_METRICS_PORT ?? DEFAULT_METRICS_PORT))
    const annotations = deployment.spec.template.metadata.annotations as Record<string, string>
    expect(annotations['prometheus.io/port']).toBe(String(metrics))
  })

  it('sets only variables the app reads', () => {
    const names = Object.keys(containerEnv())
    expect(names).toContain('GOTRUE_HOOK_SEND_SMS_SECRETS')
    for (const name of names) expect(readByTheApp(name), `${name} is read nowhere in src/`).toBe(true)
  })

  it('takes every secretKeyRef and configMapKeyRef from a key that exists, and keeps the keys in the Secret', () => {
    for (const entry of container.env ?? []) {
      const secretRef = entry.valueFrom?.secretKeyRef
      const configRef = entry.valueFrom?.configMapKeyRef
      if (secretRef) {
        expect(secretRef.name, entry.name).toBe(secret.metadata?.name)
        expect(keysOf(secret), entry.name).toContain(secretRef.key)
      }
      if (configRef) {
        expect(configRef.name, entry.name).toBe(configMap.metadata?.name)
        expect(keysOf(configMap), entry.name).toContain(configRef.key)
      }
    }
    const fromSecret = (name: string) => container.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef
    for (const name of ['GOTRUE_HOOK_SEND_SMS_SECRETS', 'GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET', 'REDIS_URL']) {
      expect(fromSecret(name), `${name} comes from the Secret`).toBeDefined()
      expect(keysOf(configMap), `${name} is not in the ConfigMap`).not.toContain(name)
    }
  })

  it('commits no hook secret: the placeholder is not in the form GoTrue and the hook accept', () => {
    expect(containerEnv().GOTRUE_HOOK_SEND_SMS_SECRETS).not.toMatch(/v1,whsec_/)
  })

  it('started with its placeholders, stops at start-up naming the hook secret', async () => {
    const env = { ...containerEnv(), NODE_ENV: 'production', PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1' }
    const { code, output } = await startApp(env)
    expect(code, output).toBe(1)
    expect(output).toMatch(/invalid configuration: GOTRUE_HOOK_SEND_SMS_SECRETS/)
  })

  it("selects the Deployment's pods from the Service and the PodDisruptionBudget, and scales that Deployment", () => {
    const labels = deployment.spec.template.metadata.labels as Record<string, string>
    const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v)
    expect(matches(deployment.spec.selector.matchLabels)).toBe(true)
    expect(matches(service.spec.selector)).toBe(true)
    const pdb = one('PodDisruptionBudget')
    expect(matches(pdb.spec.selector.matchLabels)).toBe(true)
    const hpa = one('HorizontalPodAutoscaler')
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata?.name,
    })
    // Two replicas at least, and a budget that still lets a node drain.
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2)
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(hpa.spec.minReplicas)
    expect(pdb.spec.minAvailable).toBeLessThan(hpa.spec.minReplicas)
  })

  it("runs as the image's unprivileged user, by number, as runAsNonRoot requires of a named USER", () => {
    const user = /^USER\s+(\S+)/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1]
    expect(user).toBe('node')
    expect(pod.securityContext?.runAsNonRoot).toBe(true)
    // The node images' `node` user is uid 1000.
    expect(pod.securityContext?.runAsUser).toBe(1000)
    expect(container.securityContext?.allowPrivilegeEscalation).toBe(false)
    expect(container.securityContext?.readOnlyRootFilesystem).toBe(true)
  })

  it('gives a stopping pod time to leave the Service and finish its calls before it is killed', async () => {
    const { DEFAULT_TIMEOUT_MS } = await import('../../src/hook/config.js')
    const pause = Number(container.lifecycle?.preStop?.exec?.command?.at(-1) ?? 0)
    const timeoutMs = Number(containerEnv().SMS_HOOK_TIMEOUT_MS ?? DEFAULT_TIMEOUT_MS)
    // After SIGTERM the server finishes in-flight calls within the hook's timeout plus its grace (main.ts).
    expect(pod.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(pause + timeoutMs / 1000 + 3)
  })
})

describe('deploy/alibaba-cloud/s.yaml (Function Compute 3.0, Serverless Devs)', () => {
  const text = readFileSync(join(ROOT, 'deploy/alibaba-cloud/s.yaml'), 'utf8')
  const s = parse(text) as {
    edition: string
    resources: Record<string, { component: string; props: Record<string, any> }>
  }
  const [resource] = Object.values(s.resources)
  const props = resource!.props
  const variables = props.environmentVariables as Record<string, string>

  it('is a custom container of the fc3 component, with an anonymous HTTP trigger (the hook checks signatures itself)', () => {
    expect(s.edition).toMatch(/^3\./)
    expect(resource!.component).toBe('fc3')
    expect(props.runtime).toBe('custom-container')
    const [trigger] = props.triggers as {
      triggerType: string
      triggerConfig: { authType: string; methods: string[] }
    }[]
    expect(trigger!.triggerType).toBe('http')
    expect(trigger!.triggerConfig.authType).toBe('anonymous')
    expect(trigger!.triggerConfig.methods).toContain('POST')
  })

  it('has Function Compute call the port the app listens on, and check it on /readyz there', () => {
    const config = props.customContainerConfig as { port: number; healthCheckConfig: { httpGetUrl: string } }
    expect(config.port).toBe(Number(variables.PORT ?? 8080))
    expect(config.healthCheckConfig.httpGetUrl).toBe('/readyz')
  })

  it("lets a call run longer than GoTrue's 5-second budget, so the hook's own deadline answers first", () => {
    expect(props.timeout).toBeGreaterThan(5)
  })

  it('sets only variables the app reads, and takes every secret from the deploying shell, not from the file', () => {
    for (const name of Object.keys(variables)) expect(readByTheApp(name), `${name} is read nowhere in src/`).toBe(true)
    for (const name of [
      'GOTRUE_HOOK_SEND_SMS_SECRETS',
      'GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID',
      'GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET',
      'REDIS_URL',
    ]) {
      expect(variables[name], name).toBe(`\${env('${name}')}`)
    }
  })
})

/** Starts the Node entry from the sources with `env`; resolves when it exits (or after 20 s, killed). */
function startApp(env: Record<string, string | undefined>) {
  return new Promise<{ code: number | null; output: string }>((resolveRun) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/node/main.ts'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20_000,
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('close', (code) => resolveRun({ code, output }))
  })
}
