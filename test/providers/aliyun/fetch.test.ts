import { describeAliyunContract } from './contract.js'

describeAliyunContract('fetch')
