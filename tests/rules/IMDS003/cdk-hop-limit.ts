// A CDK LaunchTemplate's httpPutResponseHopLimit above the limit (a literal), and one at it.
import * as cdk from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';

const app = new cdk.App();
const stack = new cdk.Stack(app, 'Containers');

new ec2.LaunchTemplate(stack, 'EcsHosts', {
  requireImdsv2: true,
  httpPutResponseHopLimit: 3, // imds-expect: IMDS003@28
});

new ec2.LaunchTemplate(stack, 'Plain', {
  requireImdsv2: true,
  httpPutResponseHopLimit: 1,
});
